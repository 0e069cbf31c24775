"""FLAME driven by emogen's ARKit motion, for users who hold the (licensed) FLAME model files.

FLAME (Li, Bolkart, Black, Li & Romero 2017, "Learning a model of facial shape and expression from 4D scans",
ACM TOG 36:194) is a full-head model with 300 shape and 100 expression components and five joints (global, neck,
jaw, left eye, right eye). Its files are licensed to each user and never ship with emogen: bring your own
``FLAME2020/generic_model.pkl``, ``FLAME2023`` ``flame2023.pkl`` or an ``.npz`` conversion of either.

* **Loading.** ``.npz`` files hold plain arrays. FLAME's ``.pkl`` files are Python 2 pickles that contain
  ``chumpy`` objects (and SciPy sparse matrices); unpickling can run arbitrary code, so they are read only when you
  opt in with ``allow_pickle=True``, and then by a restricted unpickler that builds nothing but numpy arrays,
  SciPy sparse matrices and inert stand-ins for the ``chumpy`` objects (whose stored array is taken), and refuses
  every other class.
* **ARKit → FLAME.** At load, emogen's 52 ARKit displacement fields (on MediaPipe's canonical face,
  :func:`emogen.face.blendshapes.load_blendshapes`) are matched to FLAME's mean face: the canonical face is
  aligned to FLAME's template (nose tips, then iterated closest points with a similarity transform), each landmark
  takes its nearest FLAME vertex (or, with ``landmark_embedding``, given triangles and barycentric coordinates),
  and each ARKit field is fitted by ridge-regularised least squares with FLAME's expression components plus the
  jaw joint's pitch and yaw (linearised). The result is a ``(52, n_expression + 2)`` matrix kept as a buffer.
* **Driving.** :meth:`FlameRig.forward` takes the same :class:`~emogen.motion.MotionTrack` as the avatar:
  blendshapes → expression and jaw, ``eyeLook*`` + gaze → the eye joints, head rotation → the neck joint, head
  translation → the translation; the mesh comes from smplx's linear blend skinning (``smplx.lbs.lbs``).
  (``smplx.FLAME`` itself reads files with the plain pickle module and also needs FLAME's landmark embedding
  files, so the model is assembled here from the loaded arrays and smplx's skinning function.)
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES
from ..face.rig import IPD_METRES, euler_to_rotation, gaze_to_blendshapes
from ..motion import MotionTrack
from ..utils import dataclass_to

logger = logging.getLogger(__name__)

__all__ = ["FlameOutput", "FlameRig", "fit_arkit_to_flame", "load_flame_model"]

_NUM_JOINTS = 5
_REQUIRED = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights")
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
    ("builtins", "object"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("_codecs", "encode"),  # how Python 3 protocol-2 pickles store bytes (harmless: str → bytes)
    ("scipy.sparse.csc", "csc_matrix"), ("scipy.sparse._csc", "csc_matrix"), ("scipy.sparse.csr", "csr_matrix"),
    ("scipy.sparse._csr", "csr_matrix"), ("scipy.sparse.coo", "coo_matrix"), ("scipy.sparse._coo", "coo_matrix"),
}  # fmt: skip


class _ChumpyStub:
    """An inert stand-in for a pickled ``chumpy`` object: it only keeps the state it is given."""

    def __init__(self, *args, **kwargs) -> None:
        self._state = args or kwargs or None

    def __setstate__(self, state) -> None:
        self._state = state


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStub
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"The FLAME file refers to {module}.{name}; only numpy arrays, SciPy sparse matrices and chumpy arrays "
            "are read from pickles."
        )


def _plain(value, key: str) -> np.ndarray:
    """A numpy array from an array, a sparse matrix or a chumpy stand-in."""
    if isinstance(value, _ChumpyStub):
        state = value._state
        if isinstance(state, dict):
            for k in ("x", "a", "_x"):
                if k in state and not isinstance(state[k], _ChumpyStub):
                    return np.asarray(state[k])
        raise ValueError(f"FLAME entry {key!r} is a chumpy expression emogen cannot evaluate; convert the file to "
                         ".npz with chumpy installed (np.savez(path, **{k: np.asarray(v) ...})).")  # fmt: skip
    if hasattr(value, "toarray"):
        return value.toarray()
    return np.asarray(value)


def load_flame_model(path: str | os.PathLike, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Read a FLAME model file (``.npz``, or ``.pkl`` with ``allow_pickle=True``) into plain arrays.

    Returns:
        ``v_template (V, 3)``, ``f (F, 3)``, ``shapedirs (V, 3, N)``, ``posedirs (V·3, 36)`` (smplx's layout),
        ``J_regressor (5, V)``, ``parents (5,)``, ``weights (V, 5)``.

    Raises:
        ValueError: missing file, a pickle without ``allow_pickle``, a refused class, or missing/misshaped arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No FLAME model file at {str(path)!r} (FLAME is licensed per user; download it yourself).")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    elif suffix == ".pkl":
        if not allow_pickle:
            raise ValueError(
                f"{str(path)!r} is a pickle, which can run code when read. Pass allow_pickle=True for a FLAME file "
                "you trust (it is then read by a restricted unpickler), or convert it to .npz."
            )
        with open(path, "rb") as fh:
            try:
                raw = _RestrictedUnpickler(fh, encoding="latin1").load()
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
                raise ValueError(f"Cannot read FLAME pickle {str(path)!r}: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{str(path)!r} does not hold a FLAME model (expected a dict, got {type(raw).__name__}).")
    else:
        raise ValueError(f"FLAME files end in .pkl or .npz, got {str(path)!r}.")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"{str(path)!r} is not a FLAME model: missing {missing}.")
    out = {k: _plain(raw[k], k) for k in _REQUIRED}
    v = out["v_template"].astype(np.float64)
    n = len(v)
    shapedirs = out["shapedirs"].astype(np.float64)
    if shapedirs.ndim == 2:
        shapedirs = shapedirs[:, :, None]
    posedirs = out["posedirs"].astype(np.float64).reshape(-1, out["posedirs"].shape[-1])
    kin = out["kintree_table"].astype(np.int64)
    parents = kin[0].copy()
    parents[0] = -1
    checks = {
        "v_template": v.shape == (n, 3),
        "shapedirs": shapedirs.shape[:2] == (n, 3),
        "posedirs": posedirs.shape == (n * 3, (_NUM_JOINTS - 1) * 9),
        "J_regressor": out["J_regressor"].shape == (_NUM_JOINTS, n),
        "weights": out["weights"].shape == (n, _NUM_JOINTS),
        "kintree_table": kin.shape == (2, _NUM_JOINTS),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"{str(path)!r}: arrays {bad} do not have FLAME's shapes (5 joints, {n} vertices).")
    return {
        "v_template": v,
        "f": out["f"].astype(np.int64),
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": out["J_regressor"].astype(np.float64),
        "parents": parents,
        "weights": out["weights"].astype(np.float64),
    }


def _split(n: int) -> tuple[int, int]:
    """FLAME's shape/expression split of ``n`` blendshape columns (smplx's convention)."""
    if n >= 400:
        return 300, 100
    if n >= 20:
        return 10, 10
    raise ValueError(f"A FLAME model has 300 + 100 (or 10 + 10) shape and expression components, got {n}.")


def _axis_angle(r: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``(..., 3)`` of rotation matrices ``(..., 3, 3)`` (angles below π)."""
    cos = ((r[..., 0, 0] + r[..., 1, 1] + r[..., 2, 2] - 1) / 2).clamp(-1 + 1e-7, 1 - 1e-7)
    angle = torch.acos(cos)
    v = torch.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1)
    k = torch.where(angle > 1e-6, angle / (2 * torch.sin(angle)), 0.5 + angle**2 / 12)
    return v * k.unsqueeze(-1)


def _align(src: np.ndarray, dst_vertices: np.ndarray, iters: int = 20) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity ``dst ≈ s R src + t`` aligning face points to a mesh's vertices (nose tips, then ICP)."""
    from scipy.spatial import cKDTree

    from ..face.rig import _umeyama

    tree = cKDTree(dst_vertices)
    front = dst_vertices[np.argmax(dst_vertices[:, 2])]
    s, rot, t = 1.0, np.eye(3), front - src[4]
    for _ in range(iters):
        moved = s * src @ rot.T + t
        d, idx = tree.query(moved)
        w = np.exp(-((d / max(np.median(d) * 3, 1e-4)) ** 2)) + 1e-6
        s, rot, t = _umeyama(src, dst_vertices[idx], w)
    return s, rot, t


def fit_arkit_to_flame(
    model: dict[str, np.ndarray],
    num_expression: int,
    landmark_embedding: tuple[np.ndarray, np.ndarray] | None = None,
    ridge: float = 1e-4,
) -> np.ndarray:
    """Least-squares map from ARKit weights to FLAME expression coefficients and jaw pitch/yaw.

    Returns:
        `np.ndarray` of shape `(52, num_expression + 2)`.
    """
    from smplx.lbs import lbs

    from ..face.blendshapes import canonical_template, load_blendshapes

    template = canonical_template()[:468] * IPD_METRES
    _, fields, _ = load_blendshapes()
    fields = fields.double().numpy()[:, :468] * IPD_METRES
    v = model["v_template"]
    n_shape, _ = _split(model["shapedirs"].shape[-1])
    expr = model["shapedirs"][:, :, n_shape : n_shape + num_expression]
    if landmark_embedding is None:
        s, rot, t = _align(template, v)
        from scipy.spatial import cKDTree

        _, idx = cKDTree(v).query(s * template @ rot.T + t)
        weights = np.zeros((468, len(v)))
        weights[np.arange(468), idx] = 1.0
    else:
        tri, bary = landmark_embedding
        tri, bary = np.asarray(tri, np.int64), np.asarray(bary, np.float64)
        if tri.shape != (468,) or bary.shape != (468, 3):
            raise ValueError(
                "landmark_embedding must be (triangle (468,), barycentric (468, 3)) for MediaPipe's mesh."
            )
        weights = np.zeros((468, len(v)))
        for k in range(3):
            np.add.at(weights, (np.arange(468), model["f"][tri, k]), bary[:, k])
        s, rot, _ = _align(template, v)
    # the jaw joint's effect per radian of pitch and yaw (finite difference of the skinning)
    z = lambda n: torch.zeros(1, n, dtype=torch.float64)  # noqa: E731
    args = (
        torch.from_numpy(v)[None], torch.from_numpy(model["shapedirs"]), torch.from_numpy(model["posedirs"].T.copy()),
        torch.from_numpy(model["J_regressor"]), torch.from_numpy(model["parents"]), torch.from_numpy(model["weights"]),
    )  # fmt: skip
    betas = z(model["shapedirs"].shape[-1])
    rest = lbs(betas, z(15), *args)[0][0].numpy()
    jaw = []
    for axis in (0, 1):
        pose = z(15)
        pose[0, 6 + axis] = 1e-3
        jaw.append((lbs(betas, pose, *args)[0][0].numpy() - rest) / 1e-3)
    basis = np.concatenate([expr, np.stack(jaw, -1)], -1)  # (V, 3, E + 2)
    a = np.einsum("lv,vcj->lcj", weights, basis).reshape(468 * 3, -1)
    targets = s * np.einsum("klc,dc->kld", fields, rot).reshape(NUM_BLENDSHAPES, -1)  # fields in FLAME's frame
    gram = a.T @ a
    gram += ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
    out = np.linalg.solve(gram, a.T @ targets.T).T
    for name in ARKIT_BLENDSHAPES:  # gaze turns the eye joints, not the expression
        if name.startswith("eyeLook"):
            out[ARKIT_INDEX[name]] = 0.0
    return out


@dataclass(frozen=True)
class FlameOutput:
    """Posed FLAME meshes.

    Args:
        vertices (`torch.Tensor` of shape `(batch, V, 3)`): metres.
        joints (`torch.Tensor` of shape `(batch, 5, 3)`).
        expression (`torch.Tensor` of shape `(batch, E)`), jaw_pose (`torch.Tensor` of shape `(batch, 3)`): the
            FLAME parameters used.
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    expression: torch.Tensor
    jaw_pose: torch.Tensor

    def to(self, device=None, dtype=None) -> FlameOutput:
        return dataclass_to(self, device, dtype)


class FlameRig(nn.Module):
    """A FLAME head driven by ARKit motion (see the module docstring).

    Buffers: ``v_template``, ``shapedirs``, ``exprdirs``, ``posedirs``, ``J_regressor``, ``parents``,
    ``lbs_weights``, ``faces`` (FLAME's arrays), ``arkit_to_flame`` (52, E + 2); parameter ``betas`` (the identity's
    shape coefficients, zeros by default). Licensed data: never save this module into a shared checkpoint.

    Args:
        model: arrays from :func:`load_flame_model`.
        num_expression: expression components used (at most the model's).
        landmark_embedding: ``(triangle (468,), barycentric (468, 3))`` of MediaPipe's landmarks on FLAME's mesh,
            if you have one; otherwise found by aligning the meshes.
    """

    def __init__(self, model: dict, num_expression: int = 50, landmark_embedding=None) -> None:
        super().__init__()
        n_shape, n_expr = _split(model["shapedirs"].shape[-1])
        if not isinstance(num_expression, int) or not 1 <= num_expression <= n_expr:
            raise ValueError(f"num_expression must be an integer in [1, {n_expr}], got {num_expression!r}.")
        self.num_expression = num_expression
        f32 = torch.float32
        sd = torch.from_numpy(model["shapedirs"])
        self.register_buffer("v_template", torch.from_numpy(model["v_template"]).to(f32))
        self.register_buffer("shapedirs", sd[:, :, :n_shape].to(f32))
        self.register_buffer("exprdirs", sd[:, :, n_shape : n_shape + num_expression].to(f32))
        self.register_buffer("posedirs", torch.from_numpy(model["posedirs"]).T.contiguous().to(f32))
        self.register_buffer("J_regressor", torch.from_numpy(model["J_regressor"]).to(f32))
        self.register_buffer("parents", torch.from_numpy(model["parents"]).long())
        self.register_buffer("lbs_weights", torch.from_numpy(model["weights"]).to(f32))
        self.register_buffer("faces", torch.from_numpy(model["f"]).long())
        fit = fit_arkit_to_flame(model, num_expression, landmark_embedding)
        self.register_buffer("arkit_to_flame", torch.from_numpy(fit).to(f32))
        self.betas = nn.Parameter(torch.zeros(n_shape))

    @classmethod
    def from_file(cls, path: str | os.PathLike, allow_pickle: bool = False, **kwargs) -> FlameRig:
        """Load a FLAME file (see :func:`load_flame_model`) and fit the ARKit map."""
        return cls(load_flame_model(path, allow_pickle=allow_pickle), **kwargs)

    def parameters_from_weights(self, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(expression (b, E), jaw_pose (b, 3))`` of ARKit weights ``(b, 52)``."""
        p = weights.to(self.arkit_to_flame) @ self.arkit_to_flame
        e = self.num_expression
        jaw = torch.cat([p[:, e : e + 2], torch.zeros_like(p[:, :1])], -1)
        return p[:, :e], jaw

    def forward(self, motion: MotionTrack) -> FlameOutput:
        """Pose FLAME with a MotionTrack: expression and jaw from the blendshapes, eyes from ``eyeLook*`` and the
        gaze, the neck from the head rotation, the translation from the head translation."""
        from smplx.lbs import lbs

        from .avatar.eyes import eye_rotations

        if not isinstance(motion, MotionTrack):
            raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
        dev, dt = self.v_template.device, self.v_template.dtype
        m = motion.to(dev, dt)
        w = m.blendshapes + gaze_to_blendshapes(m.gaze)
        b = w.shape[0]
        expression, jaw = self.parameters_from_weights(w)
        eyes = eye_rotations(w)  # (b, 2, 2) pitch, yaw
        eye_r = euler_to_rotation(torch.cat([eyes, torch.zeros_like(eyes[..., :1])], -1))
        neck = _axis_angle(euler_to_rotation(m.head_rotation))
        pose = torch.cat([torch.zeros(b, 3, device=dev, dtype=dt), neck, jaw, _axis_angle(eye_r[:, 0]),
                          _axis_angle(eye_r[:, 1])], -1)  # fmt: skip
        betas = torch.cat([self.betas.expand(b, -1), expression], -1)
        dirs = torch.cat([self.shapedirs, self.exprdirs], -1)
        verts, joints = lbs(betas, pose, self.v_template, dirs, self.posedirs, self.J_regressor, self.parents,
                            self.lbs_weights)  # fmt: skip
        t = m.head_translation[:, None]
        return FlameOutput(vertices=verts + t, joints=joints + t, expression=expression, jaw_pose=jaw)
