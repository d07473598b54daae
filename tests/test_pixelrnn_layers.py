"""PixelRNN's layers (minigen/models/pixelrnn.py) by their defining properties.

The context of each output pixel is read off a Jacobian row (one backward pass from that output,
nonzero input gradients = the pixels it depends on) and compared with what the layer's
definition says it must be, for every pixel of a small image: exactly, so a layer that sees a
future pixel fails, and so does one with a blind spot.
"""
import numpy as np
import pytest

import minigen as mg
from minigen.models.pixelrnn import DiagonalBiLSTM, RowLSTM, skew, unskew

H, W = 5, 6


def _past_and_present(r, c):
    """Raster order up to and including (r, c): the rows above and the row's left part."""
    seen = np.zeros((H, W), bool)
    seen[:r] = True
    seen[r, :c + 1] = True
    return seen


def _row_lstm_triangle(r, c, k=3):
    """Row LSTM with a 1 x k kernel: the current row from c - k//2 to c, and d rows up the
    columns c - k//2 - d .. c + k//2 * d (each row of state reaches k//2 further out)."""
    seen = np.zeros((H, W), bool)
    half = k // 2
    seen[r, max(c - half, 0):c + 1] = True
    for d in range(1, r + 1):
        seen[r - d, max(c - half - half * d, 0):c + half * d + 1] = True
    return seen


def receptive_field(layer, shape, at):
    """The input pixels (a boolean (H, W) map) that the layer's output at pixel ``at`` depends
    on: the nonzero entries of one Jacobian row, from one backward pass."""
    x = mg.randn(1, *shape, dtype=np.float64, requires_grad=True)
    layer(x)[0, :, at[0], at[1]].sum().backward()
    return (x.grad.numpy()[0] != 0).any(axis=0)


def _layer(cls, *args):
    mg.manual_seed(0)
    return cls(*args).double()


@pytest.mark.parametrize("at", [(0, 0), (0, 3), (2, 0), (2, 2), (4, 5), (3, 4)])
def test_diagonal_bilstm_sees_exactly_the_past_and_present_pixels_no_blind_spot(at):
    layer = _layer(DiagonalBiLSTM, 2, 3)
    seen = receptive_field(layer, (2, H, W), at)
    np.testing.assert_array_equal(seen, _past_and_present(*at))


@pytest.mark.parametrize("at", [(0, 0), (0, 3), (2, 0), (2, 2), (4, 5), (3, 4)])
def test_row_lstm_sees_the_triangle_above_and_nothing_after_the_pixel(at):
    layer = _layer(RowLSTM, 2, 3, 3)
    seen = receptive_field(layer, (2, H, W), at)
    np.testing.assert_array_equal(seen, _row_lstm_triangle(*at))
    assert not (seen & ~_past_and_present(*at)).any()


def test_skew_moves_row_r_right_by_r_and_unskew_inverts_it():
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 5)), requires_grad=True)
    s = skew(x)
    assert s.shape == (2, 3, 4, 8)
    for r in range(4):
        np.testing.assert_array_equal(s.numpy()[:, :, r, r:r + 5], x.numpy()[:, :, r])
        assert not s.numpy()[:, :, r, :r].any() and not s.numpy()[:, :, r, r + 5:].any()
    back = unskew(s, 5)
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    (back * back).sum().backward()      # the round trip is the identity for gradients too
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def test_unskew_rejects_a_width_that_does_not_fit_with_a_sentence():
    with pytest.raises(ValueError, match="columns"):
        unskew(mg.zeros(1, 1, 4, 8), 4)
