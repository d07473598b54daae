"""A correct submission."""
import numpy as np


def causal_mask(out_channels, in_channels, kernel_size, mask_type):
    k = kernel_size
    mask = np.zeros((out_channels, in_channels, k, k))
    mask[:, :, : k // 2, :] = 1                          # every row above the centre
    mask[:, :, k // 2, : k // 2 + (mask_type == "B")] = 1  # left of it; B keeps the centre
    return mask
