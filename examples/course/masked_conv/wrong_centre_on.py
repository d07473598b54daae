"""Subtly wrong: the centre pixel is kept for mask A too, so the first layer sees the pixel it
must predict. Loses exactly the causality check (2 points)."""
import numpy as np


def causal_mask(out_channels, in_channels, kernel_size, mask_type):
    k = kernel_size
    mask = np.zeros((out_channels, in_channels, k, k))
    mask[:, :, : k // 2, :] = 1
    mask[:, :, k // 2, : k // 2 + 1] = 1
    return mask
