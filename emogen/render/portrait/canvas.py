"""The once-per-photo, per-size precomputation of the portrait animator: output canvas, warp mesh, texture layers.

Only the window the outermost ring covers is rendered per frame; outside it (and at the outer ring, where the
displacement is zero) the frame equals the photo, so the face pastes back without seams at full resolution.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch

from ...arkit import ARKIT_INDEX
from ...face.blendshapes import face_topology
from ...face.rig import FaceRig
from ...head.mouth import MouthGeometry
from .appearance import LAYER_NAMES, expression_layers
from .geometry import RING_SCALE
from .layers import eyeball_layer, fill_mouth, lip_colour, mouth_exposure, relax_delta, teeth_colour
from .mouth import mouth_interior, rest_interior

__all__ = [
    "TEXTURE_CHANNELS",
    "TEXTURE_LAYOUT",
    "Canvas",
    "WORK_IPD",
    "build_canvas",
    "rig_rest_smile",
    "working_copy",
]

WORK_IPD = 96.0  # px between the pupils at which the once-per-photo texture layers are computed (at most)
#: Channel ranges of the canvas texture: the photo (mouth inpainted), the relaxed-skin delta, the eyeball, the photo
#: as it is, the signed crease-shading layers (:data:`~emogen.render.portrait.appearance.LAYER_NAMES`), the subject's
#: left share of each pixel, the flush and pallor gains, the unfolded eye cover's colour and its inner (AU1) and outer
#: (AU2) weights.
TEXTURE_LAYOUT: dict[str, slice] = {
    "photo": slice(0, 3),
    "relax": slice(3, 6),
    "eyeball": slice(6, 9),
    "orig": slice(9, 12),
    "creases": slice(12, 20),
    "left": slice(20, 21),
    "flush": slice(21, 24),
    "pallor": slice(24, 27),
    "cover": slice(27, 30),
    "cover_alpha": slice(30, 32),
}
TEXTURE_CHANNELS = 32
_CANVAS_IDS = itertools.count()


def working_copy(image: np.ndarray, pts: np.ndarray, ipd_px: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``image`` shrunk (never enlarged) so that the face is at most :data:`WORK_IPD` px between the pupils, with
    its points ``(N, 2)`` and inter-pupil distance in the shrunk pixels: where the smooth once-per-photo layers are
    computed before their differences from the photo are upsampled."""
    import cv2

    ws = min(1.0, WORK_IPD / max(ipd_px, 1e-6))
    if ws == 1.0:
        return image, pts, ipd_px
    small = cv2.resize(image, None, fx=ws, fy=ws, interpolation=cv2.INTER_AREA)
    return small, pts * np.array([small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]]), ipd_px * ws


def rig_rest_smile(rig: FaceRig) -> float:
    """How much the photographed face smiles (mean ``mouthSmile`` of the rig's rest weights)."""
    r = rig.rest_weights
    return float((r[ARKIT_INDEX["mouthSmileLeft"]] + r[ARKIT_INDEX["mouthSmileRight"]]) / 2)


@dataclass
class Canvas:
    """Everything the animator precomputes for one photo at one output size (cached on the prepared portrait)."""

    frame: torch.Tensor  # (H, W, 3) uint8: the still output frame
    k: float  # canvas px per photo px
    offset: tuple[float, float]  # canvas = photo * k - offset
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 in canvas px
    texture: torch.Tensor  # (1, TEXTURE_CHANNELS, h, w) float: see :data:`TEXTURE_LAYOUT`
    src_gap: torch.Tensor  # (V,) photo lid/lip openings at the strip vertices (px)
    src: torch.Tensor  # (V, 2) source positions of the warp-mesh vertices (window px)
    static: torch.Tensor  # (V, 4) m_eye, m_mouth (2: mouth interior), u, seam
    faces: torch.Tensor  # (F, 3) the warp mesh without the mouth interior
    mouth_faces: torch.Tensor  # (F_m, 3) the mouth interior's triangles (its vertices are the last V_m)
    mouth_geometry: MouthGeometry  # the interior fitted to the photo's face
    teeth_rgb: torch.Tensor  # (3,)
    mouth_exposure: float  # gain of the interior's light (the photo's lip brightness, see layers.mouth_exposure)
    lip_rgb: torch.Tensor | None  # (3,) the photo's lip colour (sRGB), for the wet inner lips at the opening
    ipd_px: float
    ring_lower: torch.Tensor  # (36,) 0 for outline points in the upper half, 1 at the chin
    rest_face: torch.Tensor  # (1, 478, 3) the photo's face in its own frame (rig at the photo's weights)
    rest_pixels: torch.Tensor  # (478, 3) ... and in photo pixels
    key: int = field(default_factory=lambda: next(_CANVAS_IDS))  # stable id for renderer-side caches


def build_canvas(
    image: np.ndarray, rig: FaceRig, bbox, size: int | None, framing: str, relax: float, device: torch.device
) -> Canvas:
    """Precompute the warp mesh and texture layers of one photo for one output size.

    Args:
        image: the photo (RGB uint8); rig: its face rig; bbox: the tracked face box (x0, y0, x1, y1).
        size: output long side (``framing="full"``) or square side (``"portrait"``); ``None``: the photo's own.
        framing: ``"full"`` or ``"portrait"``; relax: strength of the relaxed-skin layer; device: torch device.
    """
    import cv2

    img = image
    h, w = img.shape[:2]
    lm = rig.rest_vertices().detach().cpu().double().numpy()
    if framing == "full":
        k = 1.0 if size is None else size / max(h, w)
        ox = oy = 0.0
        out_w, out_h = max(1, round(w * k)), max(1, round(h * k))
    else:
        x0, y0, x1, y1 = bbox
        side = 3.0 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.1 * side
        out_w = out_h = int(size or round(side))
        k = out_w / side
        ox, oy = (cx - side / 2) * k, (cy - side / 2) * k
    m = np.array([[k, 0, -ox], [0, k, -oy]])
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    canvas = cv2.warpAffine(img, m, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    pts = lm[:, :2] * k - np.array([ox, oy])
    ipd_px = float(rig.scale) * k

    # --- warp mesh: skin, rings, eye strips, mouth strip
    topo = face_topology()
    g = topo.groups
    oval = np.array(g.face_oval)
    centre = pts[oval].mean(0)
    rings = [centre + s * (pts[oval] - centre) for s in RING_SCALE]
    below = (pts[oval, 1] - centre[1]) / max(pts[oval, 1].max() - centre[1], 1e-6)
    lower = np.clip(below, 0.0, 1.0) ** 1.5
    all_src = np.concatenate([pts] + rings)
    # window: the outermost ring's bounding box, clipped to the canvas
    x0, y0 = np.floor(all_src.min(0)).astype(int)
    x1, y1 = np.ceil(all_src.max(0)).astype(int) + 1
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(out_w, x1), min(out_h, y1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise ValueError("The face lies outside the output frame; use framing='portrait'.")
    shift = np.array([x0, y0], dtype=np.float64)
    faces = [topo.faces]
    n = len(pts)
    idx_rings = []
    prev = oval
    for r in range(len(rings)):
        cur = n + r * len(oval) + np.arange(len(oval))
        idx_rings.append(cur)
        nxt_prev, nxt_cur = np.roll(prev, -1), np.roll(cur, -1)
        faces.append(np.stack([prev, cur, nxt_prev], -1))
        faces.append(np.stack([nxt_prev, cur, nxt_cur], -1))
        prev = cur
    base = n + len(rings) * len(oval)
    lip_up, lip_lo = np.array(g.lips_inner_upper), np.array(g.lips_inner_lower)
    # (row 1, row 2, material) — the two mouth bands run along the lip lines (row 2 is pushed outwards per
    # frame) and carry the anti-aliased edge of the opening, a dark seam when the lips are closed
    strips = [
        (np.array(g.right_eye_upper), np.array(g.right_eye_lower), 1),
        (np.array(g.left_eye_upper), np.array(g.left_eye_lower), 1),
        (lip_up, lip_lo, 2),
        (lip_up, lip_up, 2),
        (lip_lo, lip_lo, 2),
    ]
    static = np.zeros((base, 3))
    src = [all_src]
    for up, lo, mat in strips:
        m_ = len(up)
        iu = base + np.arange(m_)
        il = base + m_ + np.arange(m_)
        i = np.arange(m_ - 1)
        faces.append(np.stack([iu[i], il[i], iu[i + 1]], -1))
        faces.append(np.stack([iu[i + 1], il[i], il[i + 1]], -1))
        st = np.zeros((2 * m_, 3))
        st[:, mat - 1] = 1.0
        u = np.linspace(0.0, 1.0, m_)
        st[:, 2] = np.r_[u, u]
        static = np.concatenate([static, st])
        src.append(np.concatenate([pts[up], pts[lo]]))
        base += 2 * m_
    # the mouth interior (last): where its vertices lay in the photo, flagged m_mouth = 2
    mouth_geometry, mouth_rest = rest_interior(rig)
    mouth_src = mouth_rest[:, :2].detach().cpu().double().numpy() * k - np.array([ox, oy])
    st = np.zeros((len(mouth_src), 3))
    st[:, 1] = 2.0
    static = np.concatenate([static, st])
    src.append(mouth_src)
    mouth_faces = mouth_interior().faces.numpy() + base
    src = np.concatenate(src) - shift
    faces = np.concatenate(faces)

    # --- textures (window crop of the canvas)
    win = canvas[y0:y1, x0:x1].copy()
    pw = pts - shift
    # The derived layers (mouth fill, eyeball, relaxed skin, wrinkles) are smooth: compute them where the face
    # is at most _WORK_IPD px between the pupils and upsample their *differences* from the photo, so a
    # full-resolution 6000-px portrait costs about as much to prepare as a 512-px one.
    small, ps, ipd_s = working_copy(win, pw, ipd_px)
    base = small.astype(np.float32) / 255
    filled = fill_mouth(small, ps, ipd_s)
    identity = rig.identity.detach().cpu().double().numpy()
    cues = expression_layers(small, ps, ipd_s, identity)
    layers = np.concatenate(
        [
            filled.astype(np.float32) / 255 - base,
            relax_delta(filled, ps, ipd_s, identity, rig_rest_smile(rig), relax),
            eyeball_layer(small, ps, ipd_s).astype(np.float32) / 255 - base,
            np.stack([cues.layer(name) for name in LAYER_NAMES] + [cues.left], -1),
            cues.flush,
            cues.pallor,
            cues.cover,
            np.stack([cues.cover_inner, cues.cover_outer], -1),
        ],
        -1,
    ).astype(np.float32)
    if small is not win:
        layers = cv2.resize(layers, (win.shape[1], win.shape[0]), interpolation=cv2.INTER_LINEAR)
    full = win.astype(np.float32) / 255
    photo = np.clip(full + layers[..., 0:3], 0, 1)
    eyeball = np.clip(full + layers[..., 6:9], 0, 1)
    teeth = teeth_colour(small, ps)
    lips = lip_colour(small, ps)
    exposure = mouth_exposure(lips)
    # channels: photo, relaxed-skin delta, eyeball, original photo, crease layers + left share, flush, pallor, cover
    tex = np.concatenate([photo, layers[..., 3:6], eyeball, full, layers[..., 9:]], -1)
    src_gap = np.zeros(len(src))
    b0 = n + len(rings) * len(oval)
    for j, (up, lo, _) in enumerate(strips):
        m_ = len(up)
        if j >= 2:  # mouth strip and bands: the lip opening
            up, lo = lip_up, lip_lo
        gap = np.linalg.norm(pts[up] - pts[lo], axis=-1)
        src_gap[b0 : b0 + 2 * m_] = np.r_[gap, gap]
        b0 += 2 * m_
    seam = np.zeros(len(src))
    seam[list(set(g.lips_inner_upper + g.lips_inner_lower))] = 1.0
    seam[list(set(g.left_eye_upper + g.left_eye_lower + g.right_eye_upper + g.right_eye_lower))] = 0.6
    static = np.concatenate([static, seam[:, None]], -1)
    dev = device
    return Canvas(
        frame=torch.from_numpy(canvas).to(dev),
        k=k,
        offset=(ox, oy),
        window=(int(x0), int(y0), int(x1), int(y1)),
        texture=torch.from_numpy(tex).permute(2, 0, 1).unsqueeze(0).contiguous().to(dev),
        src=torch.from_numpy(src).float().to(dev),
        src_gap=torch.from_numpy(src_gap).float().to(dev),
        static=torch.from_numpy(static).float().to(dev),
        faces=torch.from_numpy(faces).long().to(dev),
        mouth_faces=torch.from_numpy(mouth_faces).long().to(dev),
        mouth_geometry=mouth_geometry.to(dev),
        teeth_rgb=torch.tensor(teeth, dtype=torch.float32, device=dev),
        mouth_exposure=exposure,
        lip_rgb=None if lips is None else torch.tensor(lips, dtype=torch.float32, device=dev),
        ipd_px=ipd_px,
        ring_lower=torch.from_numpy(lower).float().to(dev),
        rest_face=rig.deform().detach(),
        rest_pixels=rig.rest_vertices().detach(),
    )
