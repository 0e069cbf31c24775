"""A 3D mouth interior for emogen's face rig: teeth, gums, tongue and the oral cavity.

The opening between the lips is filled by a small procedural mesh (≈2.5k triangles) instead of a flat shader:

* **teeth**: ten upper and ten lower crowns (central and lateral incisors, canines, first and second premolars per
  side), each a rounded box (a superellipse cross-section swept from the incisal edge to the neck) that thins to
  an incisal edge, with the tooth's own crown inclination and cusp, placed side by side along a dental arch;
* **gingiva**: an upper and a lower strip that follow the arches, scalloped around every crown (papillae between
  the teeth) and curling back into the vestibule;
* **tongue**: a flattened ellipsoid lying on the floor of the mouth, its tip behind the lower incisors, with a
  median sulcus; ARKit ``tongueOut`` pushes its front forward between the incisors;
* **cavity**: a closed "bag" whose rim follows the inner lip line frame by frame and which flares out behind the
  lips into the vestibule, the cheeks, the palate, the floor of the mouth and the back of the throat, so nothing
  behind the mouth can show through.

Everything is built in code from published dental norms (millimetres) and mapped to emogen's face frame (units of
inter-pupil distance, IPD; x to the subject's left, y up, z towards the camera; see
:mod:`emogen.face.blendshapes`). :meth:`MouthInterior.fit` places and scales the interior behind the lips of one
face's *neutral* identity, :meth:`MouthInterior.pose` moves it per frame: the upper teeth, upper gum and palate are
rigid with the skull (they do not move in the face frame), the lower teeth, lower gum, tongue and floor follow the
mandible, whose rigid motion is estimated from the chin and jawline landmarks of the deformed face (weighted
Kabsch/Umeyama fit), and the cavity stretches between the two. :meth:`MouthInterior.vertex_attributes` gives the
per-vertex G-buffer channels (material, normal, depth into the mouth, tooth-gap factor, ...) that a rasteriser
interpolates and :func:`shade_mouth` turns into colour.

Anatomical numbers (all in :data:`UPPER_TEETH`, :data:`LOWER_TEETH` and the module constants) and their sources:

* Upper anterior clinical crowns (width × length): central 8.6 × 10.2 mm, lateral 6.6 × 8.7 mm, canine 7.7 ×
  10.0 mm (Sterrett et al. 1999, "Width/length ratios of normal clinical crowns of the maxillary anterior
  dentition in man", J Clin Periodontol 26:153, men: 8.59 × 10.19, 6.59 × 8.70, 7.64 × 10.06; Orozco-Varo et al.
  2015, J Prosthet Dent 113:565, 412 adults: 8.71 × 10.23, 6.75 × 8.59, 7.81 × 9.93). Premolars ≈ 7 mm wide
  (Magne et al. 2003, J Prosthet Dent 89:453: 7.84 mm anatomic width). Lower teeth and labiolingual crown
  thicknesses from the crown-dimension tables of Wheeler's Dental Anatomy, Physiology and Occlusion (Nelson 2015):
  lower central 5.0, lateral 5.5, canine 7.0, premolars 7.0 mm wide; their clinical crowns are taken ≈1 mm shorter
  than Wheeler's anatomic crowns (9.0, 9.5, 11.0, 8.5, 8.0 mm), the healthy gingival margin lying ≈1 mm coronal of
  the cemento-enamel junction. The resulting lower/upper width ratios are
  0.79 (anterior six) and 0.89 (ten teeth), close to Bolton's (1958) 0.772 and 0.913.
* Crown inclinations (torque): upper +7°, +3°, −7°, −7°, −7°; lower −1°, −1°, −11°, −17°, −22° (Andrews 1972,
  "The six keys to normal occlusion", Am J Orthod 62:296).
* Arch form: the beta function of Braun et al. 1998 ("The form of the human dental arch", Angle Orthod 68:29),
  ``depth(x) = D (1 - (1 - 4x²/W²)^0.8)``, through the labial surfaces, with the depth D = 32 mm of normal
  maxillary arches (Mina et al. 2017, Odontology 105:229: 31.6 mm to the first molars, width 57.9 mm) and W = 63 mm,
  which puts the canine cusp tips 34 mm apart once the crowns are laid side by side along the arch, as measured
  (34.15 ± 2.05 mm, Bonakdarchian & Ghorbanipour 2010; 34.8 mm, Woelfel et al. 2014, J Adv Prosthodont 6:483). The
  lower arch is the upper one offset lingually by the overjet (lower canine tips ≈ 27 mm apart).
* Overjet 2.5 mm and overbite 2 mm (normal ranges 2–4 mm and 1–3 mm, e.g. Proffit, Contemporary Orthodontics;
  population norms in Iraqi 13-year-olds: 2–4 mm and 1–3 mm); at rest the teeth are apart by a small freeway
  space (interocclusal rest space 2–3 mm on average, Aradya & Chowdhary 2017, Indian J Dent Res 28:613); the
  default 1.5 mm keeps the incisors overlapping, as in relaxed speech.
* Upper incisal display at rest: 2 mm below the upper lip (Vig & Brundo 1978, J Prosthet Dent 39:502: 1.9 mm in
  men, 3.4 mm in women); the incisal edges sit ≈3 mm behind the inner surface of the lips.
* Occlusal plane: 8° to the Frankfort horizontal, rising backwards (adult norm 8 ± 4°, Downs 1948).
* Mouth width ≈ 1.32 × the distance across the canines (Stephan & Henneberg 2003): on the canonical face
  (mouth 49 mm wide) the canines span 39.6 mm across their outer surfaces, a ratio of 1.24 (within the spread).
* Tongue: 50 mm of oral tongue from the tip, 42 mm wide, 6 → 25 mm thick (the adult tongue measures ≈ 8–10 cm
  from the tip to the epiglottis; its volume is ≈ 80 cm³, Liégeois et al. 2010, Eur J Orthod 32:381); at rest its
  tip lies 6.5 mm behind the lower incisors and its dorsum just below their edges.
* Colours (CIELAB): teeth L* 84, a* 0.2, b* 24 (maxillary central incisors, spectrophotometer, Oh et al. 2022,
  J Korean Acad Pediatr Dent 49:414; adults slightly darker, L* ≈ 81); gingiva L* 50, a* 24, b* 15.5 (attached
  gingiva, Gómez-Polo et al. 2019, J Adv Prosthodont 11:239).

Example::

    from emogen.face.rig import FaceRig
    from emogen.head.mouth import MouthInterior, shade_mouth
    from emogen.render.raster import TorchRasterizer

    rig = FaceRig.from_tracking(face)
    mouth = MouthInterior()
    geometry = mouth.fit(rig.identity)                                   # once per photo
    deformed = rig.deform(weights)                                       # (b, 478, 3)
    verts = mouth.pose(geometry, rig.identity, deformed, weights[:, ARKIT_INDEX["tongueOut"]])
    attrs = mouth.vertex_attributes(geometry, verts, deformed)           # (b, V, NUM_ATTRIBUTES)
    frags = TorchRasterizer()(rig.project(verts), mouth.faces, attrs, h, w)
    rgb = shade_mouth(frags.attributes)                                  # (b, h, w, 3), mask: frags.mask
"""

from .anatomy import (
    CAVITY,
    GUM,
    INNER_LIP_LOOP,
    IPD_MM,
    JAW_LANDMARKS,
    LOWER_TEETH,
    TEETH,
    TONGUE,
    UPPER_TEETH,
    ToothSpec,
)
from .interior import (
    ATTR_AO,
    ATTR_APERTURE,
    ATTR_EDGE,
    ATTR_HEIGHT,
    ATTR_LIP,
    ATTR_MATERIAL,
    ATTR_NORMAL,
    NUM_ATTRIBUTES,
    MouthGeometry,
    MouthInterior,
    estimate_jaw_motion,
)
from .shading import lab_to_srgb, shade_mouth

__all__ = [
    "ATTR_AO",
    "ATTR_APERTURE",
    "ATTR_EDGE",
    "ATTR_HEIGHT",
    "ATTR_LIP",
    "ATTR_MATERIAL",
    "ATTR_NORMAL",
    "CAVITY",
    "GUM",
    "INNER_LIP_LOOP",
    "IPD_MM",
    "JAW_LANDMARKS",
    "LOWER_TEETH",
    "MouthGeometry",
    "MouthInterior",
    "NUM_ATTRIBUTES",
    "TEETH",
    "TONGUE",
    "ToothSpec",
    "UPPER_TEETH",
    "estimate_jaw_motion",
    "lab_to_srgb",
    "shade_mouth",
]
