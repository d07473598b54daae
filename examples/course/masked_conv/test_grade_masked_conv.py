"""Grading file of the masked-convolution assignment (4 points)."""
import numpy as np

import minigen as mg
from minigen import nn
from minigen.nn import functional as F
from minigen.nn.conv import causal_mask


class MaskedConv(nn.Conv2d):
    """A k x k convolution (same padding) whose kernel is multiplied by a given mask."""

    def __init__(self, cin, cout, k, mask):
        super().__init__(cin, cout, k, padding=k // 2)
        self.register_buffer("mask", mg.tensor(np.asarray(mask, dtype=np.float32)))

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def stack(mask_fn, first, channels=3, k=3, layers=3):
    """PixelCNN's body: a ``first``-type layer, then mask-B layers, tanh between them."""
    mods = []
    for i in range(layers):
        cin = 1 if i == 0 else channels
        mask_type = first if i == 0 else "B"
        mods += [MaskedConv(cin, channels, k, mask_fn(channels, cin, k, mask_type)), nn.Tanh()]
    return nn.Sequential(*mods)


def test_mask_shape_and_values(grader, student):
    def check():
        for out_c, in_c, k, kind in [(2, 3, 3, "A"), (4, 1, 5, "B"), (1, 1, 7, "A")]:
            mask = np.asarray(student.causal_mask(out_c, in_c, k, kind))
            assert mask.shape == (out_c, in_c, k, k), \
                f"mask {kind} for ({out_c}, {in_c}, {k}): shape {mask.shape}, expected " \
                f"{(out_c, in_c, k, k)}"
            assert np.isin(mask, (0, 1)).all(), f"mask {kind} holds values other than 0 and 1"
    grader.check("mask shape and values", check, points=1)


def test_stack_is_causal(grader, student):
    grader.causality(lambda: stack(student.causal_mask, "A"), input_shape=(1, 5, 5), points=2,
                     name="causality of a mask-A, mask-B, mask-B stack")


def test_mask_b_receptive_field(grader, student):
    grader.blind_spot(lambda: stack(student.causal_mask, "B"), input_shape=(1, 7, 7),
                      reference=lambda: stack(causal_mask, "B"), points=1,
                      name="receptive field of mask-B layers (blind spot as the reference's)")
