// Loads ?glb=URL with three.js GLTFLoader, renders on demand and exposes a small test API on window:
//   __ready / __error, __report {morphTargets, count, meshes, animations, webgl2},
//   setMorph(name, value) on every mesh that has the target, resetMorphs(), setAnimationTime(seconds),
//   projectToScreen([x, y, z]) -> {x, y} canvas pixels of a world point.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const params = new URLSearchParams(location.search);
const width = Number(params.get('w') || 480), height = Number(params.get('h') || 480);
window.__ready = false;
window.__error = null;
const fail = (err) => { window.__error = String(err && err.stack ? err.stack : err); };

try {
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(width, height);
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  document.body.appendChild(renderer.domElement);
  const gl = renderer.getContext();
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xd9dde3);
  const camera = new THREE.PerspectiveCamera(22, width / height, 0.01, 10);
  camera.position.set(0, -0.02, 0.55);
  camera.lookAt(0, -0.035, 0);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x606060, 2.2));
  const key = new THREE.DirectionalLight(0xffffff, 1.6);
  key.position.set(0.3, 0.5, 1.0);
  scene.add(key);
  const render = () => renderer.render(scene, camera);
  new GLTFLoader().load(params.get('glb'), (gltf) => {
    try {
      scene.add(gltf.scene);
      const morphs = [];
      gltf.scene.traverse((o) => { if (o.isMesh && o.morphTargetDictionary) morphs.push(o); });
      if (!morphs.length) throw new Error('no mesh with morph targets');
      const dict = morphs[0].morphTargetDictionary;
      const names = Object.keys(dict).sort((a, b) => dict[a] - dict[b]);
      let mixer = null;
      window.setMorph = (name, value) => {
        if (!(name in dict)) throw new Error('unknown morph target: ' + name);
        if (mixer) mixer.stopAllAction();
        for (const m of morphs) m.morphTargetInfluences[m.morphTargetDictionary[name]] = value;
        render();
      };
      window.resetMorphs = () => { if (mixer) mixer.stopAllAction(); for (const m of morphs) m.morphTargetInfluences.fill(0); render(); };
      window.setAnimationTime = (t) => {
        if (!mixer) mixer = new THREE.AnimationMixer(gltf.scene);
        mixer.clipAction(gltf.animations[0]).play();
        mixer.setTime(t);
        render();
        return Array.from(morphs[0].morphTargetInfluences);
      };
      window.projectToScreen = (p) => {
        const v = new THREE.Vector3(p[0], p[1], p[2]).project(camera);
        return { x: (v.x + 1) / 2 * width, y: (1 - v.y) / 2 * height };
      };
      render();
      const meshes = [];
      gltf.scene.traverse((o) => { if (o.isMesh) meshes.push({ name: o.name, skinned: !!o.isSkinnedMesh, morphs: o.morphTargetInfluences ? o.morphTargetInfluences.length : 0 }); });
      window.__report = {
        morphTargets: names, count: names.length, meshes,
        animations: gltf.animations.map((a) => ({ name: a.name, duration: a.duration, tracks: a.tracks.length })),
        webgl2: typeof WebGL2RenderingContext !== 'undefined' && gl instanceof WebGL2RenderingContext,
      };
      window.__ready = true;
    } catch (err) { fail(err); }
  }, undefined, fail);
} catch (err) { fail(err); }
