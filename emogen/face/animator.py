"""Portrait animator: a photo + a :class:`~emogen.motion.MotionTrack` → video frames (DESIGN §5).

Per frame, batched in torch: the :class:`~emogen.face.rig.FaceRig` gives the target landmarks; a *warp mesh* —
the skin triangles of the face mesh, four rings around the face outline that carry hair and neck with the head
and decay to zero displacement, and separate triangle strips filling the eye and mouth openings — is rasterised
at the target positions with the source positions as attributes (moderngl or the torch rasteriser, see
:mod:`emogen.render.raster`). Shading samples the photo with ``grid_sample`` and fills the openings:

* skin: the photo with its mouth interior inpainted with lip colour (the inner-lip landmarks are ~1 px off, so
  closed lips would otherwise show teeth), blended per frame with a once-per-photo "relaxed" layer (smile creases
  lightened) by how much of the photo's smile the motion takes away;
* eyes: an eyeball texture (the eye opening inpainted outwards) that moves with the iris, shaded under the lid;
* mouth: a shaded cavity with an upper-teeth band attached to the upper lip, lower teeth and tongue when wide
  open, feathered into the lips.

Only the window that the rings cover is rendered; outside it (and at the outer ring, where the displacement is
zero) the frame equals the photo, so the face pastes back without seams at full resolution.

Backends (``benchmarks/bench_animator.py``, astronaut, idle motion + expression, 2 CPU cores shared with other
jobs (load average ~3.5), so numbers vary ±30 % between runs):

==============================  =========  =========
method                          256² fps   512² fps
==============================  =========  =========
moderngl (EGL, llvmpipe)         46-47      34-41
torch rasteriser + grid_sample    9-23       4-6
naive per-triangle cv2 warp      12         9-14
==============================  =========  =========

moderngl is the default on CPU: llvmpipe rasterises and shades in one pass and only 8-bit colour comes back,
while the torch path spends its time gathering attributes per pixel. The torch path is the default on CUDA
(everything stays on the device), is differentiable in the vertex attributes, and is the automatic fallback
(with a logged warning) where no EGL context can be created. Both give the same frames (mean |Δ| < 0.01/255).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..arkit import ARKIT_INDEX
from ..io.image import to_rgb_uint8
from ..motion import MotionTrack
from ..render.raster import ModernGLRasterizer, Rasterizer, get_rasterizer
from .blendshapes import face_topology
from .rig import FaceRig
from .tracking import FaceTracker, FaceTrackingResult

logger = logging.getLogger(__name__)

__all__ = ["PortraitAnimator", "PreparedPortrait"]

# Rings around the face outline: scale about the outline centre, how much they follow the head, how much they
# follow the outline's own (expression) motion. The last ring is pinned (DESIGN §5: pin only rings ≥ 1.6×).
_RING_SCALE = (1.15, 1.4, 1.7, 2.05)
_RING_HEAD = (1.0, 0.8, 0.35, 0.0)
_RING_EXPR = (0.45, 0.12, 0.0, 0.0)
# Below the chin the rings cover neck, collar and shoulders, which follow the head much less than hair does.
_RING_NECK_DROP = (0.4, 0.75, 1.0, 1.0)
# su, sv, eu, ev, m_eye, m_mouth, a (dist. below the upper lid/lip, px), gap (px), u (along the mouth),
# opening ratio (target gap / photo gap), seam (1 on the lid and inner-lip contours of the skin)
_CHANNELS = 11
_WORK_IPD = 96.0  # px between the pupils at which the once-per-photo texture layers are computed (at most)


_CANVAS_IDS = itertools.count()
_MOUTH_MARGIN = 1.0  # px the mouth bands extend beyond the closed-lip line's half width (anti-aliasing)
_LIP_LINE = 0.03  # IPD: width of the dark line between closed lips (at least 1 px)
_LIP_LINE_CLEAR = 0.55  # the line is this much lighter than the mouth cavity


def _lip_line_width(ipd_px: float) -> float:
    """Width (px) of the dark line drawn between closed lips: without it a closed mouth vanishes at the ~64-px
    face sizes that expression classifiers look at."""
    return max(1.0, _LIP_LINE * ipd_px)


def _band_margin(ipd_px: float) -> float:
    return _MOUTH_MARGIN + 0.5 * _lip_line_width(ipd_px)


def _smoothstep(e0: float, e1: float, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass
class _Canvas:
    """Everything the animator precomputes for one photo at one output size (internal)."""

    frame: torch.Tensor  # (H, W, 3) uint8: the still output frame
    k: float  # canvas px per photo px
    offset: tuple[float, float]  # canvas = photo * k - offset
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 in canvas px
    texture: torch.Tensor  # (1, 15, h, w) float: photo (teeth filled), relax delta, eyeball, original, wrinkles
    src_gap: torch.Tensor  # (V,) photo lid/lip openings at the strip vertices (px)
    src: torch.Tensor  # (V, 2) source positions of the warp-mesh vertices (window px)
    static: torch.Tensor  # (V, 4) m_eye, m_mouth, u, seam
    faces: torch.Tensor  # (F, 3)
    teeth_rgb: torch.Tensor  # (3,)
    ipd_px: float
    ring_lower: torch.Tensor  # (36,) 0 for outline points in the upper half, 1 at the chin
    rest_face: torch.Tensor  # (1, 478, 3) the photo's face in its own frame (rig at the photo's weights)
    rest_pixels: torch.Tensor  # (478, 3) ... and in photo pixels
    key: int = field(default_factory=lambda: next(_CANVAS_IDS))  # stable id for renderer-side caches


@dataclass(frozen=True)
class PreparedPortrait:
    """A tracked and rigged photo, ready to animate (cache it; preparing costs ~0.1-0.5 s).

    Args:
        image (`np.ndarray` of shape `(H, W, 3)`, uint8): the photo.
        face: its tracked face.
        rig: its :class:`FaceRig`.
    """

    image: np.ndarray
    face: FaceTrackingResult
    rig: FaceRig
    _canvases: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def rest_smile(self) -> float:
        r = self.rig.rest_weights
        return float((r[ARKIT_INDEX["mouthSmileLeft"]] + r[ARKIT_INDEX["mouthSmileRight"]]) / 2)


class PortraitAnimator:
    """Animate portraits with a face rig and a 2D mesh warp.

    Args:
        backend: rasteriser, ``"auto"`` (moderngl on CPU when EGL works, torch otherwise), ``"moderngl"`` or
            ``"torch"``.
        device: torch device for the rig and shading.
        framing: ``"full"`` keeps the whole photo (output long side = ``size``); ``"portrait"`` crops a square
            around the face (``size`` × ``size``).
        relax: strength of the relaxed-skin layer used when the motion removes the photo's smile (0 disables).
        cache_size: prepared photos kept in memory.
    """

    def __init__(
        self,
        backend: str = "auto",
        device: torch.device | str = "cpu",
        framing: str = "full",
        relax: float = 1.0,
        cache_size: int = 4,
    ) -> None:
        if framing not in ("full", "portrait"):
            raise ValueError(f"framing must be 'full' or 'portrait', got {framing!r}.")
        self.device = torch.device(device)
        self.rasterizer: Rasterizer = get_rasterizer(backend, self.device)
        self._gl = None
        if isinstance(self.rasterizer, ModernGLRasterizer):
            from ..render.portrait_gl import GLPortraitRenderer

            self._gl = GLPortraitRenderer()
        self.framing = framing
        self.relax = float(relax)
        self._cache: OrderedDict[str, PreparedPortrait] = OrderedDict()
        self.cache_size = int(cache_size)

    @property
    def backend(self) -> str:
        return self.rasterizer.name

    # ============================================================================================ preparation
    def prepare(self, image, face_index: int | None = None, tracker: FaceTracker | None = None) -> PreparedPortrait:
        """Track and rig the face in ``image`` (cached per image content and face index).

        Args:
            image: path, PIL image, array or tensor (grayscale and RGBA are converted).
            face_index: which face (largest first); default the largest.
            tracker: an open :class:`FaceTracker` to reuse.

        Raises:
            NoFaceFoundError: (``ValueError``) when the photo has no face.
        """
        rgb = to_rgb_uint8(image)
        key = hashlib.sha1(rgb.tobytes()).hexdigest() + f":{rgb.shape}:{face_index}"
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if tracker is None:
            with FaceTracker() as own:
                face = own.track(rgb, face_index=face_index)
        else:
            face = tracker.track(rgb, face_index=face_index)
        if face.inter_pupil_distance < 8:
            raise ValueError(
                f"The face is too small to animate ({face.inter_pupil_distance:.1f} px between the pupils); "
                "use a photo where the face is at least ~60 pixels wide."
            )
        rig = FaceRig.from_tracking(face).to(self.device)
        prepared = PreparedPortrait(image=rgb, face=face, rig=rig)
        self._cache[key] = prepared
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return prepared

    def _canvas(self, prepared: PreparedPortrait, size: int | None) -> _Canvas:
        key = (size, self.framing, str(self.device))
        if key not in prepared._canvases:
            prepared._canvases[key] = self._build_canvas(prepared, size)
        return prepared._canvases[key]

    def _build_canvas(self, prepared: PreparedPortrait, size: int | None) -> _Canvas:
        import cv2

        img = prepared.image
        h, w = img.shape[:2]
        lm = prepared.rig.rest_vertices().detach().cpu().double().numpy()
        if self.framing == "full":
            k = 1.0 if size is None else size / max(h, w)
            ox = oy = 0.0
            out_w, out_h = max(1, round(w * k)), max(1, round(h * k))
        else:
            x0, y0, x1, y1 = prepared.face.bbox
            side = 3.0 * max(x1 - x0, y1 - y0)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.1 * side
            out_w = out_h = int(size or round(side))
            k = out_w / side
            ox, oy = (cx - side / 2) * k, (cy - side / 2) * k
        m = np.array([[k, 0, -ox], [0, k, -oy]])
        interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
        canvas = cv2.warpAffine(img, m, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
        pts = lm[:, :2] * k - np.array([ox, oy])
        ipd_px = float(prepared.rig.scale) * k

        # --- warp mesh: skin, rings, eye strips, mouth strip
        topo = face_topology()
        g = topo.groups
        oval = np.array(g.face_oval)
        centre = pts[oval].mean(0)
        rings = [centre + s * (pts[oval] - centre) for s in _RING_SCALE]
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
        src = np.concatenate(src) - shift
        faces = np.concatenate(faces)

        # --- textures (window crop of the canvas)
        win = canvas[y0:y1, x0:x1].copy()
        pw = pts - shift
        # The derived layers (mouth fill, eyeball, relaxed skin, wrinkles) are smooth: compute them where the face
        # is at most _WORK_IPD px between the pupils and upsample their *differences* from the photo, so a
        # full-resolution 6000-px portrait costs about as much to prepare as a 512-px one.
        ws = min(1.0, _WORK_IPD / max(ipd_px, 1e-6))
        small = win if ws == 1.0 else cv2.resize(win, None, fx=ws, fy=ws, interpolation=cv2.INTER_AREA)
        ps = pw * np.array([small.shape[1] / win.shape[1], small.shape[0] / win.shape[0]])
        ipd_s = ipd_px * ws
        base = small.astype(np.float32) / 255
        filled = self._fill_mouth(small, ps, ipd_s)
        layers = np.concatenate(
            [
                filled.astype(np.float32) / 255 - base,
                self._relax_delta(filled, ps, ipd_s, prepared),
                self._eyeball(small, ps, ipd_s).astype(np.float32) / 255 - base,
                self._wrinkles(small.shape[:2], ps, ipd_s),
            ],
            -1,
        )
        if ws != 1.0:
            layers = cv2.resize(layers, (win.shape[1], win.shape[0]), interpolation=cv2.INTER_LINEAR)
        full = win.astype(np.float32) / 255
        photo = np.clip(full + layers[..., 0:3], 0, 1)
        relax = layers[..., 3:6]
        eyeball = np.clip(full + layers[..., 6:9], 0, 1)
        wrinkles = layers[..., 9:12]
        teeth = self._teeth_colour(small, ps)
        tex = np.concatenate(
            [
                photo,
                relax,
                eyeball,
                full,
                wrinkles,
            ],
            -1,
        )
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
        dev = self.device
        return _Canvas(
            frame=torch.from_numpy(canvas).to(dev),
            k=k,
            offset=(ox, oy),
            window=(int(x0), int(y0), int(x1), int(y1)),
            texture=torch.from_numpy(tex).permute(2, 0, 1).unsqueeze(0).contiguous().to(dev),
            src=torch.from_numpy(src).float().to(dev),
            src_gap=torch.from_numpy(src_gap).float().to(dev),
            static=torch.from_numpy(static).float().to(dev),
            faces=torch.from_numpy(faces).long().to(dev),
            teeth_rgb=torch.tensor(teeth, dtype=torch.float32, device=dev),
            ipd_px=ipd_px,
            ring_lower=torch.from_numpy(lower).float().to(dev),
            rest_face=prepared.rig.deform().detach(),
            rest_pixels=prepared.rig.rest_vertices().detach(),
        )

    # --------------------------------------------------------------------------------------- texture helpers
    @staticmethod
    def _poly_mask(shape: tuple[int, int], poly: np.ndarray, dilate: float = 0.0) -> np.ndarray:
        import cv2

        mask = np.zeros(shape, np.uint8)
        cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
        r = int(round(dilate))
        if r > 0:
            mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        elif r < 0:
            mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-2 * r + 1, -2 * r + 1)))
        return mask

    def _fill_mouth(self, win: np.ndarray, pts: np.ndarray, ipd_px: float) -> np.ndarray:
        """Inpaint the photo's mouth interior (teeth, cavity) with the surrounding lip colour."""
        import cv2

        g = face_topology().groups
        loop = np.concatenate([pts[list(g.lips_inner_upper)], pts[list(g.lips_inner_lower)][::-1]])
        mask = self._poly_mask(win.shape[:2], loop, dilate=max(1.0, 0.03 * ipd_px))
        return cv2.inpaint(win, (mask > 0).astype(np.uint8), max(2.0, 0.06 * ipd_px), cv2.INPAINT_TELEA)

    def _eyeball(self, win: np.ndarray, pts: np.ndarray, ipd_px: float) -> np.ndarray:
        """The eyeballs: each eye opening, extended outwards with its own sclera colour (not the lids' or lashes'),
        so an iris moved by gaze reveals white of the eye beside it."""
        import cv2

        g = face_topology().groups
        out = win.astype(np.float32)
        for up, lo in ((g.left_eye_upper, g.left_eye_lower), (g.right_eye_upper, g.right_eye_lower)):
            loop = np.concatenate([pts[list(up)], pts[list(lo)][::-1]])
            known = self._poly_mask(win.shape[:2], loop, dilate=-max(1.0, 0.015 * ipd_px)) > 128
            if known.sum() < 4:
                continue
            inside = win[known].astype(np.float32)
            lum = inside.mean(-1)
            sclera = np.median(inside[lum >= np.quantile(lum, 0.75)], 0) * 0.92  # slightly shaded
            region = self._poly_mask(win.shape[:2], loop, dilate=max(3.0, 0.25 * ipd_px)) > 0
            alpha = cv2.GaussianBlur(known.astype(np.float32), (0, 0), max(0.6, 0.012 * ipd_px))[..., None]
            blend = alpha * win.astype(np.float32) + (1 - alpha) * sclera
            out[region] = blend[region]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _relax_delta(self, photo: np.ndarray, pts: np.ndarray, ipd_px: float, prepared: PreparedPortrait):
        """Once-per-photo relaxed skin layer (as a delta): smile creases in the cheek area lightened."""
        import cv2

        h, w = photo.shape[:2]
        if self.relax <= 0 or prepared.rest_smile < 0.2:
            return np.zeros((h, w, 3), np.float32)
        ident = prepared.rig.identity.detach().cpu().numpy()  # face frame, IPD units
        # A soft crescent around the mouth where smiles fold the skin (nasolabial folds, dimples, cheek bulge),
        # in the face's own (neutral) coordinates: elliptical radius about the mouth centre 0.8-1.5, nostrils out.
        centre = ident[[13, 14, 61, 291]].mean(0)
        rx, ry = 0.55, 0.5
        r = np.hypot((ident[:468, 0] - centre[0]) / rx, (ident[:468, 1] - centre[1]) / ry)
        band = np.clip((r - 0.75) / 0.2, 0, 1) * np.clip((1.7 - r) / 0.25, 0, 1)
        above = ident[:468, 1] - ident[2, 1]  # height above the nose base (landmark 2, subnasale)
        band *= np.clip(1.0 - above / 0.25, 0, 1) * np.clip((np.abs(ident[:468, 0]) - 0.18) / 0.12, 0, 1)
        weights = torch.zeros(1, 478, 1)
        weights[0, :468, 0] = torch.from_numpy(band).float()
        from ..render.raster import TorchRasterizer

        pos = torch.zeros(1, 478, 3)
        pos[0, :, :2] = torch.from_numpy(pts).float()
        frag = TorchRasterizer()(pos, torch.from_numpy(face_topology().faces), weights, h, w)
        mask = frag.attributes[0, ..., 0].numpy().astype(np.float32)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.03 * ipd_px))
        img = photo.astype(np.float32) / 255
        fine = cv2.GaussianBlur(img, (0, 0), max(0.6, 0.012 * ipd_px))
        coarse = cv2.GaussianBlur(img, (0, 0), max(2.0, 0.15 * ipd_px))
        band = (fine - coarse).mean(-1, keepdims=True)  # luminance band-pass: folds, dimples, their highlights
        # creases (darker than their surroundings) take the colour of the skin around them — luminance *and*
        # chroma, since skin in shadow is also more saturated; mid-scale highlights are flattened by 60 %
        crease = np.clip(-band / 0.03, 0.0, 1.0)
        delta = (coarse - img) * crease - 0.6 * np.maximum(band, 0.0)
        return (delta * mask[..., None] * self.relax).astype(np.float32)

    @staticmethod
    def _wrinkles(shape: tuple[int, int], pts: np.ndarray, ipd_px: float) -> np.ndarray:
        """Darkening maps of expression wrinkles in photo space, ``(h, w, 3)`` in [0, 1]: vertical glabellar lines
        (corrugator, AU4), horizontal lines across the nose bridge (AU9) and forehead lines (frontalis, AU1/AU2)
        — the creases that make lowered brows, a wrinkled nose and raised brows readable (FACS manual, Ekman et al.
        2002). Placed from the landmarks; weighted per frame by the brow/nose blendshapes.
        """
        import cv2

        h, w = shape
        out = np.zeros((h, w, 3), np.float32)
        g = face_topology().groups
        s = 8  # sub-pixel precision for cv2 drawing
        thick = max(1, int(round(0.022 * ipd_px)))
        eye_r = pts[list(g.right_eye_upper) + list(g.right_eye_lower)].mean(0)
        eye_l = pts[list(g.left_eye_upper) + list(g.left_eye_lower)].mean(0)
        across = (eye_l - eye_r) / max(np.linalg.norm(eye_l - eye_r), 1e-6)  # unit vector, subject's left
        up = np.array([across[1], -across[0]])  # image "up" along the face (y is down)
        if up[1] > 0:
            up = -up
        mid = (eye_r + eye_l) / 2

        def line(channel: int, a: np.ndarray, b: np.ndarray, strength: float, bow: float = 0.0) -> None:
            layer = np.zeros((h, w), np.float32)
            n = 9
            t = np.linspace(0, 1, n)[:, None]
            p = a + (b - a) * t + up * bow * ipd_px * np.sin(np.pi * t)
            cv2.polylines(layer, [np.round(p * s).astype(np.int32)], False, strength, thick, cv2.LINE_AA, shift=3)
            out[..., channel] = np.maximum(out[..., channel], layer)

        def at(x: float, y: float) -> np.ndarray:  # face-aligned offsets in IPD from the eye midpoint
            return mid + (across * x + up * y) * ipd_px

        # glabella: two short lines converging downwards between the inner brows
        for side in (-1, 1):
            line(0, at(side * 0.085, 0.42), at(side * 0.06, 0.24), 0.22)
        # nose bridge: three short horizontal creases
        for y in (0.02, 0.09, 0.16):
            line(1, at(-0.11, y), at(0.11, y), 0.18, bow=0.01)
        # forehead: three long horizontal lines above the brows
        for y in (0.62, 0.76, 0.9):
            line(2, at(-0.55, y - 0.03), at(0.55, y - 0.03), 0.15, bow=0.04)
        blur = max(0.7, 0.018 * ipd_px)
        return cv2.GaussianBlur(out, (0, 0), blur)

    def _teeth_colour(self, win: np.ndarray, pts: np.ndarray) -> np.ndarray:
        g = face_topology().groups
        loop = np.concatenate([pts[list(g.lips_inner_upper)], pts[list(g.lips_inner_lower)][::-1]])
        mask = self._poly_mask(win.shape[:2], loop) > 128
        default = np.array([0.92, 0.88, 0.80])
        if mask.sum() < 12:
            return default
        px = win[mask].astype(np.float32) / 255
        lum = px.mean(-1)
        bright = px[lum >= np.quantile(lum, 0.7)]
        if bright.mean() < 0.45:  # open mouth but no teeth visible
            return default
        col = np.median(bright, 0)
        col = 0.5 * col + 0.5 * col.mean()  # desaturate
        col = 0.4 * col * (0.86 / max(col.mean(), 1e-3)) + 0.6 * default  # bright, warm white
        return np.clip(col, 0.55, 0.92)

    # ================================================================================================ frames
    @torch.no_grad()
    def __call__(
        self,
        prepared: PreparedPortrait,
        motion: MotionTrack,
        size: int | None = 512,
        batch_size: int = 8,
        progress: bool = True,
        output_type: str = "np",
    ) -> np.ndarray | torch.Tensor:
        """Render ``motion`` on the prepared photo.

        Args:
            prepared: from :meth:`prepare`.
            motion: per-frame ARKit weights, head pose and gaze.
            size: output long side in pixels (``None``: the photo's own resolution).
            batch_size: frames rendered together.
            progress: show a tqdm bar.
            output_type: ``"np"`` (``np.ndarray``) or ``"pt"`` (``torch.Tensor`` on the animator's device).

        Returns:
            uint8 frames of shape ``(frames, H, W, 3)``.
        """
        from tqdm.auto import tqdm

        if not isinstance(prepared, PreparedPortrait):
            raise TypeError(f"prepared must come from PortraitAnimator.prepare(), got {type(prepared).__name__}.")
        if not isinstance(motion, MotionTrack):
            raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
        if size is not None and (not isinstance(size, int) or not 16 <= size <= 8192):
            raise ValueError(f"size must be an integer in [16, 8192] or None, got {size!r}.")
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        canvas = self._canvas(prepared, size)
        motion = motion.to(self.device, torch.float32)
        frames = []
        starts = range(0, motion.num_frames, batch_size)
        for s in tqdm(starts, desc="animating", unit="batch", disable=not progress or len(starts) < 2):
            chunk = motion.slice(s, min(s + batch_size, motion.num_frames))
            frames.append(self.render_batch(prepared, canvas, chunk))
        out = torch.cat(frames)
        return out.cpu().numpy() if output_type == "np" else out

    def still(self, prepared: PreparedPortrait, weights: dict[str, float] | torch.Tensor, size: int | None = 512):
        """One frame with the given ARKit weights (dict or ``(52,)`` tensor), head as photographed."""
        if isinstance(weights, dict):
            motion = MotionTrack.from_weights(weights)
        else:
            motion = MotionTrack.from_blendshapes(torch.as_tensor(weights, dtype=torch.float32).reshape(1, -1))
        return self(prepared, motion, size=size, progress=False)[0]

    # ----------------------------------------------------------------------------------------------- geometry
    def _targets(self, prepared: PreparedPortrait, canvas: _Canvas, motion: MotionTrack):
        """Target positions (window px) and depths of the warp-mesh vertices, shape ``(B, V, 3)``."""
        rig = prepared.rig
        b = motion.num_frames
        full = rig.project(
            rig.deform(motion.blendshapes, motion.gaze, batch=b), motion.head_rotation, motion.head_translation
        )
        # head-only motion (the photo's expression, posed) of the outline, for the rings
        rest_face = canvas.rest_face.to(full)
        head = rig.project(rest_face.expand(b, -1, -1), motion.head_rotation, motion.head_translation)
        rest = canvas.rest_pixels.to(full)
        k = canvas.k
        shift = torch.tensor(
            [canvas.offset[0] + canvas.window[0], canvas.offset[1] + canvas.window[1]], device=full.device
        )

        def to_win(v: torch.Tensor) -> torch.Tensor:
            return v[..., :2] * k - shift

        tgt, hd, rs = to_win(full), to_win(head), to_win(rest)
        z = full[..., 2] / (rig.scale * 6.0)  # normalised depth, larger is nearer (about ±0.3)
        # rigid head motion of the rings: 2D affine least-squares fit rest → head-only landmarks (b, 3, 2), solved
        # by the normal equations in float64. (torch.linalg.lstsq on CPU is not reproducible: its last bits vary
        # from call to call with memory alignment, and identical calls rendered different pixels now and then.)
        wide = torch.float32 if hd.device.type == "mps" else torch.float64
        a_rest = torch.cat([rs, torch.ones_like(rs[:, :1])], -1).to(wide)  # (478, 3)
        aff = torch.linalg.solve(a_rest.T @ a_rest, a_rest.T @ hd.to(wide)).to(hd.dtype)  # (b, 3, 2)
        topo = face_topology()
        oval = torch.as_tensor(topo.groups.face_oval, device=full.device)
        expr = tgt[:, oval] - hd[:, oval]  # (b, 36, 2) expression motion of the outline
        ring_src = canvas.src[478 : 478 + len(_RING_SCALE) * len(oval)].reshape(len(_RING_SCALE), -1, 2)
        rings = []
        for r, (fh, fe, drop) in enumerate(zip(_RING_HEAD, _RING_EXPR, _RING_NECK_DROP, strict=True)):
            src_r = ring_src[r]
            moved = torch.cat([src_r, torch.ones_like(src_r[:, :1])], -1) @ aff  # (b, 36, 2)
            follow = (fh * (1.0 - drop * canvas.ring_lower)).view(1, -1, 1)
            pos = src_r + follow * (moved - src_r) + fe * expr
            depth = torch.full_like(pos[..., :1], -0.5 - 0.1 * r)
            rings.append(torch.cat([pos, depth], -1))
        g = topo.groups
        skin = torch.cat([tgt, z.unsqueeze(-1)], -1)  # (b, 478, 3)
        parts = [skin] + rings
        lip_up, lip_lo = list(g.lips_inner_upper), list(g.lips_inner_lower)
        for up, lo in ((g.right_eye_upper, g.right_eye_lower), (g.left_eye_upper, g.left_eye_lower), (lip_up, lip_lo)):
            ids = torch.as_tensor(list(up) + list(lo), device=full.device)
            strip = skin[:, ids].clone()
            strip[..., 2] = strip[..., 2] - 0.05  # behind the skin: folded lips/lids cover the openings
            parts.append(strip)
        # Bands along the lip lines, _MOUTH_MARGIN px wide, in front of the lips: an anti-aliased opening edge
        # and, when the lips are closed, the dark line between them.
        corner = skin[:, lip_up[-1], :2] - skin[:, lip_up[0], :2]
        mouth_up = torch.stack([corner[:, 1], -corner[:, 0]], -1)
        mouth_up = mouth_up / mouth_up.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        if (mouth_up[:, 1] > 0).any():  # keep it pointing up on screen (y down)
            mouth_up = torch.where(mouth_up[:, 1:2] > 0, -mouth_up, mouth_up)
        for arc, sign in ((lip_up, 1.0), (lip_lo, -1.0)):
            ids = torch.as_tensor(arc, device=full.device)
            edge = skin[:, ids].clone()
            edge[..., 2] = edge[..., 2] + 0.02
            outer = edge.clone()
            outer[..., :2] = outer[..., :2] + sign * _band_margin(canvas.ipd_px) * mouth_up.unsqueeze(1)
            parts.append(torch.cat([edge, outer], 1))
        return torch.cat(parts, 1), tgt

    def _dynamic_attributes(self, prepared, canvas, motion, pos, tgt) -> torch.Tensor:
        """Per-vertex attributes ``(B, V, 9)``."""
        b, v = pos.shape[:2]
        g = face_topology().groups
        attr = pos.new_zeros(b, v, _CHANNELS)
        attr[..., 0:2] = canvas.src
        attr[..., 4:6] = canvas.static[:, :2]
        attr[..., 8] = canvas.static[:, 2]
        attr[..., 10] = canvas.static[:, 3]
        base = 478 + len(_RING_SCALE) * len(g.face_oval)
        src_pts = canvas.src[:478]
        lip = torch.as_tensor(list(g.lips_inner_upper) + list(g.lips_inner_lower), device=pos.device)
        m_lip = len(g.lips_inner_upper)
        true = tgt[:, lip]
        lip_gap = (true[:, :m_lip] - true[:, m_lip:]).norm(dim=-1)  # (b, m) true lip opening per pair
        margin = _band_margin(canvas.ipd_px)
        for kind, up, iris in (
            ("eye", g.right_eye_upper, 468),
            ("eye", g.left_eye_upper, 473),
            ("mouth", g.lips_inner_upper, None),
            ("band_up", g.lips_inner_upper, None),
            ("band_lo", g.lips_inner_upper, None),
        ):
            m = len(up)
            sl = slice(base, base + 2 * m)
            p = pos[:, sl, :2]
            if kind == "eye":
                gap = (p[:, :m] - p[:, m:]).norm(dim=-1)  # (b, m)
                first, second = torch.zeros_like(gap), gap
            else:
                gap = lip_gap
                first, second = {
                    "mouth": (torch.zeros_like(gap), gap),
                    "band_up": (torch.zeros_like(gap), torch.full_like(gap, -margin)),
                    "band_lo": (gap, gap + margin),
                }[kind]
            attr[:, base : base + m, 6] = first
            attr[:, base + m : base + 2 * m, 6] = second
            attr[:, sl, 7] = torch.cat([gap, gap], 1)
            attr[:, sl, 9] = torch.cat([gap, gap], 1) / canvas.src_gap[sl].clamp(min=1e-3)
            if iris is not None:
                # eyeball coordinates: the source eye moved rigidly with the iris (similarity from the corners)
                c0, c1 = up[0], up[-1]
                s0, s1 = src_pts[c0], src_pts[c1]
                t0, t1 = tgt[:, c0], tgt[:, c1]
                ds, dt = s1 - s0, t1 - t0
                zs = torch.complex(ds[0], ds[1])
                zt = torch.complex(dt[..., 0], dt[..., 1])
                a = zs / zt  # target → source linear part (b,)
                rel = p - tgt[:, iris].unsqueeze(1)
                rel_c = torch.complex(rel[..., 0], rel[..., 1]) * a.unsqueeze(1)
                eu = torch.stack([rel_c.real, rel_c.imag], -1) + src_pts[iris]
                attr[:, sl, 2:4] = eu
            base += 2 * m
        return attr

    # ------------------------------------------------------------------------------------------------ shading
    def render_batch(self, prepared: PreparedPortrait, canvas: _Canvas, motion: MotionTrack) -> torch.Tensor:
        """Frames for one batch, uint8 ``(B, H, W, 3)`` on the animator's device."""
        pos, tgt = self._targets(prepared, canvas, motion)
        attr = self._dynamic_attributes(prepared, canvas, motion, pos, tgt)
        relax = self._relax_weight(prepared, motion)
        wrinkle_w = self._wrinkle_weights(prepared, motion)
        x0, y0, x1, y1 = canvas.window
        h, w = y1 - y0, x1 - x0
        if self._gl is not None:
            rgb, covered = self._gl.render(
                pos,
                canvas.faces,
                attr,
                relax,
                wrinkle_w,
                canvas.texture,
                canvas.ipd_px,
                canvas.teeth_rgb,
                h,
                w,
                key=canvas.key,
            )
            rgb, covered = rgb.to(self.device), covered.to(self.device)
        else:
            rgb, covered = self._shade_torch(canvas, pos, attr, relax, wrinkle_w, h, w)
        b = rgb.shape[0]
        frame = canvas.frame.unsqueeze(0).expand(b, -1, -1, -1).clone()
        window = frame[:, y0:y1, x0:x1]
        frame[:, y0:y1, x0:x1] = torch.where(covered.unsqueeze(-1), rgb, window)
        return frame

    def _shade_torch(self, canvas: _Canvas, pos, attr, relax, wrinkle_w, h: int, w: int):
        """Torch rasterisation + shading (any device; the GLSL in :mod:`emogen.render.portrait_gl` mirrors it)."""
        frag = self.rasterizer(pos, canvas.faces, attr, h, w)
        a = frag.attributes.to(self.device)
        mask = frag.mask.to(self.device)
        b = a.shape[0]
        tex = canvas.texture
        scale = torch.tensor([2.0 / w, 2.0 / h], device=a.device)
        grid = a[..., 0:2] * scale - 1.0
        skin = F.grid_sample(
            tex[:, [0, 1, 2, 3, 4, 5, 12, 13, 14]].expand(b, -1, -1, -1),
            grid,
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )  # (b, 9, h, w)
        relax = relax.to(a.dtype)
        colour = skin[:, :3] + relax.view(b, 1, 1, 1) * skin[:, 3:6]
        crease = (skin[:, 6:9] * wrinkle_w.to(a.dtype).view(b, 3, 1, 1)).sum(1, keepdim=True)
        colour = colour * (1.0 - crease)
        colour = colour.permute(0, 2, 3, 1)  # (b, h, w, 3)
        seam = torch.where(mask & (a[..., 4] < 0.5) & (a[..., 5] < 0.5), a[..., 10], torch.zeros_like(a[..., 10]))
        colour = colour * (1.0 - 0.55 * seam.clamp(0, 1) ** 3).unsqueeze(-1)

        m_eye = (a[..., 4] > 0.5) & mask
        m_mouth = (a[..., 5] > 0.5) & mask
        if m_eye.any():
            sel = a[m_eye]  # (n, 11)
            g2 = (sel[:, 2:4] * scale - 1.0).view(1, 1, -1, 2)
            eyeball = F.grid_sample(tex[:, 6:9], g2, mode="bilinear", padding_mode="border", align_corners=False)
            eyeball = eyeball.view(3, -1).T
            dist, gap = sel[:, 6], sel[:, 7]
            shadow = 1.0 - 0.28 * torch.exp(-dist / (0.18 * gap + 0.6))
            alpha = _smoothstep(0.0, 1.0, torch.minimum(dist, gap - dist) / 0.9).unsqueeze(-1)
            colour[m_eye] = colour[m_eye] * (1 - alpha) + (eyeball * shadow.unsqueeze(-1)) * alpha
        if m_mouth.any():
            sel = a[m_mouth]
            dist, gap = sel[:, 6], sel[:, 7]
            col = self._mouth_colour(dist.clamp(min=0).minimum(gap), gap, sel[:, 8], canvas)
            # reuse the photo's own mouth interior while the opening is close to the photo's, and only while the
            # smile that shaped it is kept (a grin's teeth don't belong in other faces)
            g3 = (sel[:, 0:2] * scale - 1.0).view(1, 1, -1, 2)
            own = F.grid_sample(tex[:, 9:12], g3, mode="bilinear", padding_mode="border", align_corners=False)
            own = own.view(3, -1).T
            b_idx = m_mouth.nonzero()[:, 0]
            synth = torch.maximum(_smoothstep(1.25, 2.0, sel[:, 9]), _smoothstep(0.1, 0.5, relax[b_idx]))
            col = own * (1 - synth.unsqueeze(-1)) + col * synth.unsqueeze(-1)
            # pixel coverage of the true opening (1 px box filter), widened to a lip line of _lip_line_width px
            # as the lips close
            lw = _lip_line_width(canvas.ipd_px)
            closed = 1.0 - _smoothstep(0.0, 2.0 * lw, gap)
            alpha = (torch.minimum(dist, gap - dist) + 0.5 + 0.5 * lw * closed).clamp(0.0, 1.0)
            alpha = (alpha * (1.0 - _LIP_LINE_CLEAR * closed)).unsqueeze(-1)
            colour[m_mouth] = colour[m_mouth] * (1 - alpha) + col * alpha
        rgb = (colour.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        return rgb, mask

    @staticmethod
    def _wrinkle_weights(prepared: PreparedPortrait, motion: MotionTrack) -> torch.Tensor:
        """(B, 3) weights of the glabella, nose and forehead wrinkles (above the photo's own expression)."""
        b = motion.blendshapes
        rest = prepared.rig.rest_weights.to(b)

        def avg(*names: str) -> torch.Tensor:
            idx = [ARKIT_INDEX[n] for n in names]
            return (b[:, idx] - rest[idx]).clamp(min=0).mean(-1)

        glabella = avg("browDownLeft", "browDownRight")
        nose = avg("noseSneerLeft", "noseSneerRight")
        forehead = torch.maximum(avg("browInnerUp"), avg("browOuterUpLeft", "browOuterUpRight"))
        return torch.stack([glabella, nose, forehead], -1).clamp(0, 1)

    def _relax_weight(self, prepared: PreparedPortrait, motion: MotionTrack) -> torch.Tensor:
        rest = prepared.rest_smile
        if rest < 0.2:
            return motion.blendshapes.new_zeros(motion.num_frames)
        smile = (
            motion.blendshapes[:, ARKIT_INDEX["mouthSmileLeft"]]
            + motion.blendshapes[:, ARKIT_INDEX["mouthSmileRight"]]
        ) / 2
        return ((rest - smile) / rest).clamp(0.0, 1.0)

    @staticmethod
    def _mouth_colour(dist: torch.Tensor, gap: torch.Tensor, u: torch.Tensor, canvas: _Canvas) -> torch.Tensor:
        """Procedural mouth interior (cavity, upper/lower teeth, tongue), shape ``(n, 3)``.

        Args:
            dist: distance below the upper inner lip (px); gap: lip opening (px); u: 0…1 across the mouth.
        """
        ipd = canvas.ipd_px
        t = (dist / gap.clamp(min=1e-3)).clamp(0, 1)
        across = 1.0 - (2.0 * u - 1.0).abs()  # 1 at the centre, 0 at the corners
        depth = torch.minimum(t, 1 - t) * 2  # 0 at the lips, 1 in the middle
        cavity = torch.tensor([0.24, 0.07, 0.07], device=dist.device)
        col = cavity * (0.45 + 0.55 * across.sqrt()).unsqueeze(-1) * (1.0 - 0.45 * depth).unsqueeze(-1)
        # tongue: lower middle when the mouth is open
        tongue = torch.tensor([0.55, 0.24, 0.24], device=dist.device)
        tz = ((u - 0.5) / 0.32) ** 2 + ((t - 1.0) / 0.55) ** 2
        t_alpha = _smoothstep(1.0, 0.7, tz) * _smoothstep(0.15 * ipd, 0.35 * ipd, gap) * 0.9
        col = col * (1 - t_alpha.unsqueeze(-1)) + (tongue * (0.7 + 0.3 * across).unsqueeze(-1)) * t_alpha.unsqueeze(-1)
        teeth = canvas.teeth_rgb
        # The lateral teeth recede into the dark and the upper lip shades the top of the upper teeth (flat, evenly
        # bright teeth read as dentures). Darkening the teeth of narrow openings as well, though physical, made
        # the fear prototype's parted lips read as surprise to FER2013 (fear 0.28 → 0.25, surprise 0.25 → 0.39).
        light = 0.5 + 0.5 * across.sqrt()
        # upper teeth: a band hanging from the upper lip
        h_up = torch.minimum(0.09 * ipd * torch.ones_like(gap), 0.6 * gap)
        up_alpha = (
            _smoothstep(1.0, 0.0, (dist - h_up) / 1.2)
            * _smoothstep(0.08, 0.25, u)
            * _smoothstep(0.08, 0.25, 1 - u)
            * _smoothstep(0.02 * ipd, 0.05 * ipd, gap)
        )
        seam = 1.0 - 0.16 * torch.cos(math.pi * 7 * (u - 0.5)).abs() ** 8
        r = (dist / h_up.clamp(min=1e-3)).clamp(0, 1)
        occlusion = 0.7 + 0.3 * _smoothstep(0.0, 0.45, r)
        up_col = teeth * (light * occlusion * (1.0 - 0.1 * r**4) * seam).unsqueeze(-1)
        col = col * (1 - up_alpha.unsqueeze(-1)) + up_col * up_alpha.unsqueeze(-1)
        # lower teeth when wide open
        h_lo = torch.minimum(0.09 * ipd * torch.ones_like(gap), 0.3 * gap)
        lo_alpha = (
            _smoothstep(1.0, 0.0, ((gap - dist) - h_lo) / 1.2)
            * _smoothstep(0.22, 0.35, u)
            * _smoothstep(0.22, 0.35, 1 - u)
            * _smoothstep(0.4 * ipd, 0.55 * ipd, gap)
        )
        col = col * (1 - lo_alpha.unsqueeze(-1)) + (teeth * (0.78 * light).unsqueeze(-1)) * lo_alpha.unsqueeze(-1)
        return col
