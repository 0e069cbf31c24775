// Persistent Node.js judge server for emogen's evaluation harness (see judges.py).
//
// Usage: node judges_server.js NPM_PREFIX [faceapi,human]
//
// NPM_PREFIX holds @vladmandic/face-api, @vladmandic/human, @tensorflow/tfjs@4 and @tensorflow/tfjs-backend-wasm@4
// (installed with `npm install --prefix NPM_PREFIX ...`); every model is read from the packages' own folders, nothing
// is fetched from the network. The WebAssembly TensorFlow.js backend is used (deterministic, no native build).
//
// Protocol: one JSON request per stdin line, one JSON reply per stdout line, in order.
//   request:  {"op": "faceapi" | "human" | "ping", "path": "/tmp/x.rgb", "want": ["expressions", "landmarks", "descriptor"]}
//   the file: little-endian uint32 width, uint32 height, then height*width*3 RGB uint8 bytes.
//   reply:    {"ok": true, "face": false} when no face is found, else
//             faceapi: {"ok": true, "face": true, "score", "box": [x, y, w, h], "expressions": {label: p},
//                       "landmarks": [[x, y] x 68], "descriptor": [128 floats]}   (the parts named in "want")
//             human:   {"ok": true, "face": true, "score", "box": [x, y, w, h], "probs": [7 floats], "labels": [...],
//                       "reported": [{"emotion", "score"}]}   (probs: full precision; reported: Human's own output,
//                       truncated to 2 decimals and capped at 0.99)
//             on error: {"ok": false, "error": "..."}
// The first line written is "ready" once every requested model is loaded.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const prefix = path.resolve(process.argv[2] || '.');
const enabled = new Set((process.argv[3] || 'faceapi,human').split(',').filter(Boolean));
const modules = path.join(prefix, 'node_modules');

// Human loads models with fetch(); Node's fetch has no file:// scheme, so serve those URLs from disk.
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = typeof url === 'string' ? url : url.url;
  if (u.startsWith('file://')) {
    const buf = fs.readFileSync(decodeURIComponent(u.slice('file://'.length)));
    const type = u.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return new Response(buf, { status: 200, headers: { 'Content-Type': type } });
  }
  if (realFetch) return realFetch(url, init);
  throw new Error(`no fetch for ${u}`);
};

// Any stray log line from the libraries would corrupt the protocol: send console output to stderr.
const out = process.stdout;
console.log = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.info = console.log;
console.warn = console.log;

function readRGB(file) {
  const buf = fs.readFileSync(file);
  const w = buf.readUInt32LE(0);
  const h = buf.readUInt32LE(4);
  if (buf.length !== 8 + w * h * 3) throw new Error(`bad frame file ${file}: ${buf.length} bytes for ${w}x${h}`);
  return { w, h, data: new Uint8Array(buf.buffer, buf.byteOffset + 8, w * h * 3) };
}

const HUMAN_LABELS_GRAY = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']; // oarriaga order (src/gear/emotion.ts)
const HUMAN_LABELS_RGB = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise']; // affectnet order

let tf = null;
let faceapi = null;
let human = null;
let emotionModel = null;

async function init() {
  const wasmDir = path.join(modules, '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;
  if (enabled.has('human')) {
    const H = require(path.join(modules, '@vladmandic', 'human', 'dist', 'human.node-wasm.js'));
    const Human = H.Human || H.default;
    const skip = { skipFrames: 0, skipTime: 0 };
    human = new Human({
      backend: 'wasm',
      wasmPath: wasmDir,
      modelBasePath: 'file://' + path.join(modules, '@vladmandic', 'human', 'models') + '/',
      debug: false,
      warmup: 'none',
      cacheSensitivity: 0, // every call is a fresh still: no frame-to-frame result caching
      async: false,
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      face: {
        enabled: true,
        detector: { ...skip, maxDetected: 1, return: true },
        mesh: { enabled: true },
        iris: { enabled: true },
        attention: { enabled: false },
        description: { enabled: false, ...skip },
        antispoof: { enabled: false },
        liveness: { enabled: false },
        emotion: { enabled: true, minConfidence: 0, ...skip },
      },
    });
    await human.load();
    tf = human.tf;
    emotionModel = human.models.models.emotion;
    if (!emotionModel) throw new Error('Human did not load its emotion model');
  }
  if (enabled.has('faceapi')) {
    faceapi = require(path.join(modules, '@vladmandic', 'face-api', 'dist', 'face-api.node-wasm.js'));
    if (!tf) {
      require(path.join(modules, '@tensorflow', 'tfjs-backend-wasm'));
      await faceapi.tf.setBackend('wasm');
    }
    await faceapi.tf.ready();
    tf = tf || faceapi.tf;
    const models = path.join(modules, '@vladmandic', 'face-api', 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
    await faceapi.nets.faceExpressionNet.loadFromDisk(models);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(models);
  }
}

async function runFaceAPI(img, want) {
  const t = faceapi.tf.tensor3d(img.data, [img.h, img.w, 3], 'int32');
  try {
    let q = faceapi.detectSingleFace(t, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3 })).withFaceLandmarks();
    if (want.has('expressions')) q = q.withFaceExpressions();
    if (want.has('descriptor')) q = q.withFaceDescriptor();
    const r = await q;
    if (!r) return { ok: true, face: false };
    const b = r.detection.box;
    const res = { ok: true, face: true, score: r.detection.score, box: [b.x, b.y, b.width, b.height] };
    if (want.has('expressions')) res.expressions = { ...r.expressions };
    if (want.has('landmarks')) res.landmarks = r.landmarks.positions.map((p) => [p.x, p.y]);
    if (want.has('descriptor')) res.descriptor = Array.from(r.descriptor);
    return res;
  } finally {
    t.dispose();
  }
}

async function runHuman(img) {
  const t = tf.tensor4d(img.data, [1, img.h, img.w, 3], 'int32');
  let res = null;
  try {
    res = await human.detect(t);
  } finally {
    t.dispose();
  }
  const faces = (res && res.face) || [];
  if (faces.length === 0) {
    return { ok: true, face: false };
  }
  const f = faces.reduce((a, b) => ((b.score || 0) > (a.score || 0) ? b : a));
  const reply = { ok: true, face: true, score: f.score, box: f.box, reported: f.emotion || [] };
  if (f.tensor) {
    // Human's own preprocessing (src/gear/emotion.ts, grayscale branch), without its 2-decimal truncation.
    const inputSize = emotionModel.inputs[0].shape[2];
    const rgb = emotionModel.inputs[0].shape[3] === 3;
    const probs = tf.tidy(() => {
      const face = f.tensor.shape.length === 3 ? tf.expandDims(f.tensor, 0) : f.tensor;
      const resized = tf.image.resizeBilinear(face, [inputSize, inputSize], false);
      let x;
      if (rgb) {
        x = tf.sub(tf.mul(resized, 255), [103.939, 116.779, 123.68]);
      } else {
        const gray = tf.sum(tf.mul(resized, tf.tensor1d([0.2989, 0.587, 0.114], 'float32')), 3, true);
        x = tf.mul(tf.sub(gray, 0.5), 2.0);
      }
      return emotionModel.execute(x);
    });
    reply.probs = Array.from(await probs.data());
    reply.labels = rgb ? HUMAN_LABELS_RGB : HUMAN_LABELS_GRAY;
    probs.dispose();
  }
  for (const face of faces) if (face.tensor) tf.dispose(face.tensor);
  return reply;
}

async function handle(line) {
  const req = JSON.parse(line);
  if (req.op === 'ping') return { ok: true, tensors: tf ? tf.memory().numTensors : 0 };
  const img = readRGB(req.path);
  if (req.op === 'faceapi') {
    if (!faceapi) throw new Error('face-api is not enabled in this server');
    return runFaceAPI(img, new Set(req.want || ['expressions']));
  }
  if (req.op === 'human') {
    if (!human) throw new Error('Human is not enabled in this server');
    return runHuman(img);
  }
  throw new Error(`unknown op ${req.op}`);
}

(async () => {
  try {
    await init();
  } catch (err) {
    out.write(JSON.stringify({ ok: false, error: String(err && err.stack ? err.stack : err) }) + '\n');
    process.exit(1);
  }
  out.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = await handle(line);
    } catch (err) {
      reply = { ok: false, error: String(err && err.message ? err.message : err) };
    }
    out.write(JSON.stringify(reply) + '\n');
  }
  process.exit(0);
})();
