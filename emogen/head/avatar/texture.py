"""The avatar's texture: one UV chart for the whole head, baked from the photo, with its expression layers.

**Layout.** The head (face and shell) is unwrapped as an equirectangular map around the head's vertical axis:
``u`` is the azimuth (0.5 straight ahead, the seam at the back of the head), ``v`` the elevation seen from a point
at eye level on the axis. The face, the forehead, the temples and the neck share one continuous chart, so the
join between the photographed face and the built shell is not a texture seam; mirroring the face is a horizontal
flip of the texture (``u → 1 - u``). The two ears and the eye sockets get their own islands in a strip at the
bottom of the texture.

**Baking** (once per photo). Every texel is traced back to a point of the head in the photo's pose (the rig's
neutral face plus the photo's own expression) and projected into the photo with the rig's camera. Its colour is
taken from the photo where the point is visible there (a depth test against the head rendered from the photo's
camera) and faces the camera, on the face and in a band of 0.3 IPD around it. Where the photo does not see the
face (the far side of a turned face), the mirrored texel is used. Everything else is filled with the skin and hair
colours measured on the photo (cheeks and forehead for the skin; the band above the forehead for the hair, told
from the background by its distance from the skin colour), with the photo's colours extended smoothly (push-pull
interpolation) next to the face, so the blend between photographed and filled skin has no hard edge. Near the
face's outline, photo colours that match neither the skin nor (on the scalp only) the hair are left to the fill: a
jaw's shadow or a dark background is not baked beside the jaw. Hair gets a faint streaked texture along the scalp's
meridians. The upper lash lines, which a projected texture loses on the lid margins, are drawn in.

**Expression layers.** The portrait's appearance layers (:mod:`emogen.render.portrait.appearance`: brow furrows,
forehead lines, nose wrinkles, nasolabial folds, crow's feet, lower-lid bulge, chin dimpling, flush and pallor, the
eye cover that raised brows unfold),
computed on the photo, are baked into the same chart with the same weights, so the renderer can blend them per
frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ...render.portrait.appearance.analysis import LAYER_NAMES
from .colours import (
    agreement,
    fill_colours,
    hair_colour,
    hair_mask,
    hairline_height,
    paint_lash_lines,
    paint_lips,
    periodic_noise,
    project_scalp,
    resize_wrap,
    robust_colour,
    skin_region,
)

__all__ = ["LAYER_CHANNELS", "BakedTexture", "TextureLayout", "bake_texture", "equirect_uv", "split_seams"]

#: Baked layer channels, in the order of :attr:`BakedTexture.layers`.
LAYER_CHANNELS = (
    *LAYER_NAMES,  # the portrait animator's expression-shading layers
    "flush_r",
    "flush_g",
    "flush_b",
    "left",
    "pallor_r",
    "pallor_g",
    "pallor_b",
    "cover_outer",  # the unfolded eye cover (ExpressionLayers.cover*): its outer-brow weight, colour, inner weight
    "cover_r",
    "cover_g",
    "cover_b",
    "cover_inner",
)
PART_SHELL, PART_FACE, PART_EAR, PART_SOCKET = 0, 1, 2, 3


@dataclass(frozen=True)
class TextureLayout:
    """Where the parts of the head lie in the texture.

    Args:
        size: texture side in pixels.
        strip: fraction of the texture height at the bottom reserved for the islands (ears, eye sockets).
        centre_y: height (IPD) of the unwrapping centre on the head's axis.
        axis_z: depth of the head's vertical axis.
    """

    size: int = 1024
    strip: float = 1.0 / 16.0
    centre_y: float = -0.35
    axis_z: float = -1.26

    def island(self, k: int) -> tuple[float, float, float, float]:
        """``(u0, v0, u1, v1)`` of island ``k`` (0: left ear, 1: right ear, 2: eye sockets)."""
        w = self.strip * 1.8
        return (0.01 + k * (w + 0.01), 1.0 - self.strip + 0.004, 0.01 + k * (w + 0.01) + w, 0.996)


@dataclass(frozen=True)
class BakedTexture:
    """Baked maps (uint8, ``(size, size, C)``).

    Args:
        albedo: RGB colour.
        layers: the 20 :data:`LAYER_CHANNELS`; signed shading stored as ``s + 0.6``, colour gains as ``0.5 + g``,
            ``left``, the eye cover's colour and weights as they are.
        skin_rgb, hair_rgb: the measured fill colours, sRGB in [0, 1].
        coverage: how much of each texel comes from the photo, in [0, 1].
    """

    albedo: np.ndarray
    layers: np.ndarray
    skin_rgb: np.ndarray
    hair_rgb: np.ndarray
    coverage: np.ndarray


def equirect_uv(points: np.ndarray, layout: TextureLayout) -> np.ndarray:
    """Texture coordinates ``(N, 2)`` (``u`` right, ``v`` down, in [0, 1]) of head points in the face frame."""
    x, y, z = points[:, 0], points[:, 1] - layout.centre_y, points[:, 2] - layout.axis_z
    az = np.arctan2(x, z)
    el = np.arctan2(y, np.hypot(x, z))
    u = 0.5 + az / (2 * math.pi)
    v = (0.5 - el / math.pi) * (1.0 - layout.strip)
    return np.stack([u, v], -1)


def split_seams(faces: np.ndarray, uv: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Duplicate the vertices of triangles that straddle the ``u`` wrap-around at the back of the head.

    Returns:
        ``(faces, vmap, uv)``: triangles over the new vertex list, the original vertex of each new vertex, and the
        new texture coordinates.
    """
    uv = uv.copy()
    n = len(uv)
    span = uv[faces, 0].max(1) - uv[faces, 0].min(1)
    wrap = np.flatnonzero(span > 0.5)
    extra: dict[tuple[int, int], int] = {}
    new_uv, vmap = [], []
    faces = faces.copy()
    for t in wrap:
        right_side = points[faces[t], 0].mean() < 0  # subject's right: u near 0
        for k in range(3):
            i = int(faces[t, k])
            if right_side and uv[i, 0] > 0.5:
                key, du = (i, -1), -1.0
            elif not right_side and uv[i, 0] < 0.5:
                key, du = (i, 1), 1.0
            else:
                continue
            if key not in extra:
                extra[key] = n + len(new_uv)
                new_uv.append([uv[i, 0] + du, uv[i, 1]])
                vmap.append(i)
            faces[t, k] = extra[key]
    vmap = np.r_[np.arange(n), np.asarray(vmap, dtype=np.int64)]
    out_uv = np.concatenate([uv, np.asarray(new_uv).reshape(-1, 2)]) if new_uv else uv
    return faces, vmap.astype(np.int64), out_uv


# ================================================================================================= helpers
def _smooth(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - np.float32(e0)) * np.float32(1.0 / (e1 - e0)), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _push_pull(colour: np.ndarray, weight: np.ndarray, levels: int = 7) -> np.ndarray:
    """Fill low-weight texels with a smooth extension of the weighted colours (push-pull interpolation)."""
    pyr = [(colour * weight[..., None], weight)]
    for _ in range(levels):
        c, w = pyr[-1]
        if min(w.shape) < 4:
            break
        pyr.append((cv2.pyrDown(c), cv2.pyrDown(w)))
    c, w = pyr[-1]
    est = c / np.maximum(w, 1e-6)[..., None]
    for c, w in reversed(pyr[:-1]):
        up = cv2.resize(est, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = np.clip(w * 4.0, 0.0, 1.0)[..., None]
        est = a * (c / np.maximum(w, 1e-6)[..., None]) + (1.0 - a) * up
    return est


def _sample(image: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` at float pixel coordinates (edges clamped)."""
    mx, my = px.astype(np.float32), py.astype(np.float32)
    return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def bake_texture(
    rasterize,
    faces: np.ndarray,
    uv: np.ndarray,
    photo_points: np.ndarray,
    normals: np.ndarray,
    neutral_points: np.ndarray,
    part: np.ndarray,
    distance: np.ndarray,
    photo: np.ndarray,
    camera: tuple[np.ndarray, float, np.ndarray],
    layers=None,
    layout: TextureLayout | None = None,
    seed: int = 0,
    lip_line: np.ndarray | None = None,
    lash_lines: list[np.ndarray] | None = None,
) -> BakedTexture:
    """Bake the texture of one head.

    Args:
        rasterize: ``rasterize(positions (1, V, 3), faces, attributes (1, V, C), height, width) -> Fragments``
            (a :class:`~emogen.render.raster.Rasterizer`).
        faces (`np.ndarray` of shape `(F, 3)`): triangles over the texture's vertices.
        uv (`np.ndarray` of shape `(V, 2)`): their texture coordinates.
        photo_points (`np.ndarray` of shape `(V, 3)`): the vertices in the photo's pose (face frame, IPD).
        normals (`np.ndarray` of shape `(V, 3)`): unit normals of that pose.
        neutral_points (`np.ndarray` of shape `(V, 3)`): the vertices of the neutral head.
        part (`np.ndarray` of shape `(V,)`): part code per vertex (0 shell, 1 face, 2 + 0.9 · concha depth for
            the ears, 3 eye sockets).
        distance (`np.ndarray` of shape `(V,)`): distance from the face outline: geodesic on the shell, minus the
            distance to the outline on the face.
        photo (`np.ndarray` of shape `(H, W, 3)`, uint8): the photo.
        camera: ``(rotation (3, 3), scale, origin (3,))`` of the rig: face frame → photo pixels.
        layers: the photo's :class:`~emogen.render.portrait.appearance.ExpressionLayers` (or ``None``).
        layout: the :class:`TextureLayout`.
        seed: seed of the hair texture's noise.
        lip_line (`np.ndarray` of shape `(R, 3)`, *optional*): the neutral inner lip line (closed loop): teeth the
            photo shows along it (MediaPipe's inner lip line is about a pixel off) are painted with the lips' colour.
        lash_lines (list of `np.ndarray` of shape `(k, 3)`, *optional*): the neutral upper lid margins; the lash
            line along each is drawn into the texture (:func:`~emogen.head.avatar.colours.paint_lash_lines`).
    """
    import torch

    layout = TextureLayout() if layout is None else layout
    size = layout.size
    rot, scale, origin = camera
    f32 = np.float32
    # --- 1. every texel's point: rasterise the mesh in texture space
    attrs = np.concatenate([photo_points, normals, neutral_points, part[:, None], distance[:, None]], -1).astype(f32)
    # the triangles across the wrap-around seam (u > 1) are drawn a second time one chart to the left, so the
    # texels at both edges of the chart belong to the surface
    wrap = np.flatnonzero(uv[faces, 0].max(1) > 1.0)
    ids = np.unique(faces[wrap])
    remap = np.full(len(uv), -1)
    remap[ids] = len(uv) + np.arange(len(ids))
    uv_all = np.concatenate([uv, uv[ids] - [1.0, 0.0]])
    faces_all = np.concatenate([faces, remap[faces[wrap]]])
    attrs = np.concatenate([attrs, attrs[ids]])
    pos = np.stack([uv_all[:, 0] * size, uv_all[:, 1] * size, np.zeros(len(uv_all))], -1).astype(f32)
    frags = rasterize(
        torch.from_numpy(pos)[None], torch.from_numpy(np.ascontiguousarray(faces_all)), torch.from_numpy(attrs)[None],
        size, size,
    )  # fmt: skip
    g = frags.attributes[0].cpu().numpy().astype(f32)
    covered = frags.mask[0].cpu().numpy()
    code, dist, p_neutral = g[..., 9], g[..., 10], g[..., 6:9]
    face_all = (np.abs(code - PART_FACE) < 0.5) & covered
    shell_all = (np.abs(code - PART_SHELL) < 0.5) & covered
    # --- 2. the photo's part: only in a box around the face and the band beside it, symmetric for the mirror
    main = int(round(size * (1.0 - layout.strip)))
    region = face_all | (shell_all & (dist < 0.8))
    rows, cols = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    c0, c1 = int(cols.min()), int(cols.max()) + 1
    c0, c1 = min(c0, size - c1), max(c1, size - c0)
    r1 = min(r1, main)
    box = (slice(r0, r1), slice(c0, c1))
    gb, cov = g[box], covered[box]
    p_photo, n_photo, pn = gb[..., 0:3], gb[..., 3:6], gb[..., 6:9]
    face, shell, db = face_all[box], shell_all[box], dist[box]
    cam = p_photo @ rot.T.astype(f32) * f32(scale) + origin.astype(f32)
    px, py, depth = cam[..., 0], -cam[..., 1], cam[..., 2] - f32(origin[2])
    zbuf, zscale = _photo_depth(rasterize, photo_points, faces, rot, scale, origin, photo.shape[:2])
    z_seen = _sample(zbuf, px * zscale, py * zscale)
    visible = (depth >= z_seen - 0.06 * scale) & cov
    view = (rot.T @ np.array([0.0, 0.0, 1.0])).astype(f32)
    nn = n_photo / np.maximum(np.linalg.norm(n_photo, axis=-1, keepdims=True), 1e-6)
    facing = _smooth(0.3, 0.7, nn @ view)
    # the photo covers the face and a band around it, wider over the forehead and hair (well seen from the front)
    reach = 0.3 + 0.5 * _smooth(0.7, 1.1, pn[..., 1]) * _smooth(0.9, 0.5, np.abs(pn[..., 0]))
    band = np.where(face, f32(1.0), np.where(shell, _smooth(1.0, 0.07, db / reach), f32(0.0)))
    inside = (px > 0) & (py > 0) & (px < photo.shape[1] - 1) & (py < photo.shape[0] - 1)
    w_direct = (visible & inside).astype(f32) * facing * band
    rgb = _sample(photo.astype(f32) / 255.0, px, py)
    # --- 3. measured colours
    skin_sel = face & (w_direct > 0.6) & skin_region(pn)
    skin_rgb = robust_colour(rgb[skin_sel], (0.78, 0.6, 0.5))
    scalp = project_scalp(g, covered & shell_all & (dist > 0.05) & (dist < 2.5), photo, zbuf, zscale, camera)
    hair_rgb = hair_colour(scalp, photo, skin_rgb)
    # where the hair starts, read up the forehead's midline (lower than the outline's top for a fringe)
    top = face & (w_direct > 0.5) & (pn[..., 1] > 0.62) & (np.abs(pn[..., 0]) < 0.45)
    fringe = float((agreement(rgb[top], hair_rgb) > agreement(rgb[top], skin_rgb)).mean()) if top.sum() > 20 else 0.0
    front = 1.02 - 0.3 * fringe if fringe > 0.5 else hairline_height(scalp, skin_rgb, hair_rgb)
    hair = hair_mask(p_neutral, layout, front=front)
    # colour consistency near the outline: background past the jaw or temples does not belong on the head, and
    # strands of long hair over the sides of the face would look like dirt on a head with a short hair cap
    edge = np.where(face, _smooth(0.3, 0.0, -db), f32(1.0))  # db < 0 on the face: how far inside its outline
    # (hair only where the head has hair: the scalp cap, the forehead's top; a dark band under the jaw or over the
    # neck is shadow or background, even when it is the hair's colour)
    hair_ok = np.where(face, _smooth(0.45, 0.65, pn[..., 1]), hair[box])
    agree = np.maximum(agreement(rgb, skin_rgb), hair_ok * agreement(rgb, hair_rgb))
    w_direct = w_direct * (1.0 - edge * (1.0 - agree))
    if layers is not None:
        # on the sides of the face (no eyes, brows or lips there), what the photo's skin analysis does not take for
        # skin (long hair over the cheeks, its shadow) is left to the fill
        side = np.where(face, _smooth(0.6, 0.85, np.abs(pn[..., 0])) * _smooth(0.75, 0.45, pn[..., 1]), f32(0.0))
        skin_p = np.clip(_sample(np.ascontiguousarray(layers.skin, dtype=f32), px, py), 0.0, 1.0)
        w_direct = w_direct * (1.0 - side * (1.0 - _smooth(0.2, 0.6, skin_p)))
    if lip_line is not None:
        rgb = paint_lips(rgb, pn, face & (w_direct > 0), lip_line)
    if lash_lines is not None:
        rgb = paint_lash_lines(rgb, pn, face & (w_direct > 0), lash_lines)
    # --- 4. the mirror image fills what the photo does not see
    w_direct = cv2.GaussianBlur(w_direct, (0, 0), max(1.0, size / 512))
    a = np.clip(w_direct, 0.0, 1.0)
    b = (1.0 - a) * a[:, ::-1]
    alpha_b = a + b
    photo_rgb = (a[..., None] * rgb + b[..., None] * rgb[:, ::-1]) / np.maximum(alpha_b, 1e-6)[..., None]
    alpha = np.zeros((size, size), f32)
    alpha[box] = alpha_b
    colour = np.zeros((size, size, 3), f32)
    colour[box] = photo_rgb
    # --- 5. the fill, with the photo's colours extended beside the face
    half = (slice(None, None, 2), slice(None, None, 2))  # the fill is smooth: computed at half resolution
    fill = fill_colours(p_neutral[half], code[half], hair[half], skin_rgb, hair_rgb, size // 2, seed)
    fill = cv2.resize(fill, (size, size), interpolation=cv2.INTER_LINEAR)
    streak = periodic_noise(
        np.random.default_rng(seed), (size // 4, size), (max(1.0, size / 360), max(0.8, size / 1200))
    )
    fill *= 1.0 + 0.1 * (resize_wrap(streak, size) * hair)[..., None]  # strands run along v (down the scalp)
    out = fill
    # next to the face, the fill starts from the photo's own colours extended outwards (push-pull)
    m = max(8, size // 32)
    near_box = (slice(max(0, r0 - m), min(size, r1 + m)), slice(max(0, c0 - m), min(size, c1 + m)))
    trust = np.zeros((size, size), f32)  # photo colours that look like skin or hair (no dark outline, background)
    trust[box] = alpha_b**2 * agree
    ext = _push_pull(colour[near_box], (trust * covered)[near_box])
    d = dist[near_box]
    near = np.where(
        face_all[near_box] | shell_all[near_box],
        _smooth(0.6, 0.05, np.where(face_all[near_box], f32(0.0), d)),
        f32(0.0),
    )
    a_n = alpha[near_box][..., None]
    f_n = fill[near_box]
    blended = a_n * colour[near_box] + (1.0 - a_n) * (near[..., None] * ext + (1.0 - near[..., None]) * f_n)
    # texels no triangle covers (the slits of the closed eyes and lips) take their neighbours' colours, so
    # filtering at the lids' and lips' edges does not pull in skin-coloured fill
    cov_n = covered[near_box].astype(f32)
    out[near_box] = np.where(cov_n[..., None] > 0, blended, _push_pull(blended, cov_n))
    # texels no triangle covers (along the wrap-around seam, between islands) take their neighbours' colours
    out = np.where(covered[..., None], out, _push_pull(out.astype(f32), covered.astype(f32)))
    albedo = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    layer_maps = np.zeros((size, size, len(LAYER_CHANNELS)), f32)
    layer_maps[..., :8] = 0.6
    layer_maps[..., 8:11] = 0.5
    layer_maps[..., 12:15] = 0.5
    layer_maps[..., 11] = _smooth(-0.05, 0.05, p_neutral[..., 0])
    if layers is not None:
        # (h, w, 19): 8 scalar, flush (3), pallor (3), eye cover colour (3), inner and outer weight
        maps = _sample_layers(layers, px, py)
        comb = (a[..., None] * maps + b[..., None] * maps[:, ::-1]) / np.maximum(alpha_b, 1e-6)[..., None]
        lb = layer_maps[box]
        # the cover's colour stays a colour (not faded with the photo's share); its weights fade like the shading
        lb[..., 16:19] = comb[..., 14:17]
        comb *= alpha_b[..., None]
        lb[..., :8] += comb[..., :8]
        lb[..., 8:11] += comb[..., 8:11]
        lb[..., 12:15] += comb[..., 11:14]
        lb[..., 19] = comb[..., 17]
        lb[..., 15] = comb[..., 18]
    return BakedTexture(
        albedo=albedo,
        layers=np.clip(np.rint(layer_maps * 255.0), 0, 255).astype(np.uint8),
        skin_rgb=np.asarray(skin_rgb, dtype=np.float64),
        hair_rgb=np.asarray(hair_rgb, dtype=np.float64),
        coverage=alpha,
    )


def _photo_depth(rasterize, points, faces, rot, scale, origin, shape) -> tuple[np.ndarray, float]:
    """Depth of the head seen from the photo's camera (larger is nearer), at up to 640 px; and its pixel scale."""
    import torch

    h, w = shape
    k = min(1.0, 640.0 / max(h, w))
    hh, ww = max(8, round(h * k)), max(8, round(w * k))
    cam = points @ rot.T * scale + origin
    depth = cam[:, 2] - origin[2]
    norm = 8.0 * scale
    pos = np.stack([cam[:, 0] * k, -cam[:, 1] * k, depth / norm], -1).astype(np.float32)
    frags = rasterize(
        torch.from_numpy(pos)[None], torch.from_numpy(np.ascontiguousarray(faces)),
        torch.from_numpy((depth / norm).astype(np.float32))[None, :, None], hh, ww,
    )  # fmt: skip
    z = frags.attributes[0, ..., 0].cpu().numpy() * norm
    z[~frags.mask[0].cpu().numpy()] = -1e6
    return z.astype(np.float32), k


def _sample_layers(layers, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """The photo-frame appearance layers sampled at texel positions: ``(size, size, 19)``."""
    planes = [layers.layer(n) for n in LAYER_NAMES]
    planes += [layers.flush[..., c] for c in range(3)] + [layers.pallor[..., c] for c in range(3)]
    planes += [layers.cover[..., c] for c in range(3)] + [layers.cover_inner, layers.cover_outer]
    out = []
    for k in range(0, len(planes), 4):  # cv2.remap takes up to four channels at a time
        chunk = np.ascontiguousarray(np.stack(planes[k : k + 4], -1).astype(np.float32))
        s = cv2.remap(chunk, px.astype(np.float32), py.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        out.append(s.reshape(*px.shape, -1))
    return np.concatenate(out, -1)
