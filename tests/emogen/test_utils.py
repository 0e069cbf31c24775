"""Shared helpers: the sRGB transfer functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emogen.utils import linear_to_srgb, srgb_to_linear


def test_srgb_transfer_functions_match_the_standard_and_invert():
    # IEC 61966-2-1: sRGB 0.5 is 21.4 % linear light, 0.04045 is the junction of the two pieces
    assert srgb_to_linear(0.5) == pytest.approx(0.21404, abs=1e-5)
    assert srgb_to_linear(0.04045) == pytest.approx(0.04045 / 12.92)
    x = np.linspace(0.0, 1.0, 101)
    assert np.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-6)
    # torch in, torch out, same numbers; out-of-range values are clipped
    t = torch.tensor([-0.2, 0.0, 0.3, 1.0, 1.5])
    out = srgb_to_linear(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert np.allclose(out.numpy(), srgb_to_linear(t.numpy()), atol=1e-6)
    assert float(out[0]) == 0.0 and float(out[-1]) == 1.0
    assert np.allclose(linear_to_srgb(out).numpy(), [0.0, 0.0, 0.3, 1.0, 1.0], atol=1e-6)
