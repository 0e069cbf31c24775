"""Expression appearance cues derived from the face itself: furrows, folds, wrinkles, flush and pallor.

Muscles that move the face also change its *appearance*: skin that is pushed together bunches into
furrows and bulges. The Facial Action Coding System describes these appearance changes for each action unit
(Ekman, Friesen & Hager, *FACS Manual*, 2002; summarised below as "FACS"):

* **AU4 brow lowerer** (corrugator supercilii, depressor supercilii, procerus/depressor glabellae): "vertical
  wrinkles appear between the brows, or a single vertical furrow, possibly slanted; ... may cause a horizontal
  wrinkle or bulge at the root of the nose" — :attr:`ExpressionLayers.glabella`.
* **AU1 inner brow raiser / AU2 outer brow raiser** (frontalis, pars medialis / lateralis): "horizontal wrinkles
  across the forehead"; with AU1 alone they "appear in the centre of the forehead, not across the entire
  forehead", with AU2 alone they are lateral — :attr:`ExpressionLayers.forehead_au1`,
  :attr:`ExpressionLayers.forehead_au2` (their sum is the AU1+2 pattern). They also stretch the skin below the brow
  and expose the eye cover fold, skin the photo does not show (its fold shadow and brow hair would be stretched into
  a dark band): :attr:`ExpressionLayers.cover` gives it the person's skin colour, weighted per pixel by
  :attr:`ExpressionLayers.cover_inner` (AU1) and :attr:`ExpressionLayers.cover_outer` (AU2); off on faces that wear
  glasses.
* **AU9 nose wrinkler** (levator labii superioris alaeque nasi): "wrinkles appear along the sides of the nose and
  across the root of the nose", the infraorbital triangle is pushed up and the upper part of the nasolabial
  furrow deepens — :attr:`ExpressionLayers.nose`.
* **AU10 upper lip raiser / AU12 lip corner puller** (levator labii superioris, zygomaticus major): "deepens the
  nasolabial furrow", which for AU12 runs "down and out beyond the lip corners" —
  :attr:`ExpressionLayers.nasolabial`.
* **AU6 cheek raiser** (orbicularis oculi, pars orbitalis): "crow's-feet wrinkles may appear radiating from the
  outer corners of the eyes", the skin below the lower lid is "bagged or bulged" and the "infraorbital
  furrow" deepens — :attr:`ExpressionLayers.crows_feet`, :attr:`ExpressionLayers.lower_lid`.
* **AU17 chin raiser** (mentalis): "the chin boss is pushed upwards ... may wrinkle, producing an
  'orange peel' appearance", the mentolabial furrow below the lower lip deepens — :attr:`ExpressionLayers.chin`.

Colour cues are autonomic rather than muscular: **flush** (facial erythema in anger and embarrassment; blood
volume in the malar, forehead and nasal skin raises the red/green ratio, Drummond 1997, Shearn et al. 1990) and
**pallor** (cutaneous vasoconstriction in fear: less haemoglobin absorption, so the skin is lighter and less
saturated; Kreibig 2010 review of autonomic responses).

Method (see :func:`expression_layers`): the 478 MediaPipe landmarks and the rig's neutral *identity* define a
per-pixel map from the photo to the face's own frame (IPD units, x to the subject's left, y up). Every crease is a
curve in that frame whose cross-section is a narrow Gaussian valley with broad shoulders (the skin bulge beside a
fold); evaluating the curves through the per-pixel map gives natural foreshortening and occlusion on turned faces.
Curves are *placed from the face*: brow shape sets the forehead lines, brow heads the glabellar furrows, and the
photo's own faint lines (a multi-scale Hessian valley filter on log-luminance, cf. Frangi et al. 1998; Ng et al.
2014 "Hybrid Hessian filter" for facial wrinkles) pull the procedural lines onto themselves and are deepened
where they agree with a layer's orientation. The nasolabial fold is found by dynamic programming over the valley
response across a landmark-guided path. Shading is lighting-consistent: a first-order Lambertian (spherical
harmonic) fit of the face's luminance against the rig's normals gives the light direction in the image plane
(cf. Kemelmacher-Shlizerman & Basri 2011), and each valley is shaded with an ambient-occlusion darkening plus a
directional term: the wall facing away from the light darker, the lit lip faintly brighter.

All outputs except the eye cover (a colour mixed in) are *signed multiplicative shading* maps ``s``: the rendered
colour becomes ``colour * (1 + w * s)`` for a per-frame weight ``w`` — dark skin therefore gets proportionally dark
creases (never grey paint) and the photo's texture is kept. Everything is computed once per photo at a working
resolution where the IPD is at most ~96 px, then resampled to the photo's pixel grid.
"""

from .analysis import LAYER_NAMES, Light, estimate_light, fit_light, valley_response
from .layers import ExpressionLayers, apply_layers, expression_layers, layer_weights

__all__ = [
    "LAYER_NAMES",
    "ExpressionLayers",
    "Light",
    "apply_layers",
    "estimate_light",
    "expression_layers",
    "fit_light",
    "layer_weights",
    "valley_response",
]
