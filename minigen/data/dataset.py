"""The ``Dataset`` record every loader returns, and the map between pixel levels and [-1, 1].

Images are stored as integers 0..levels-1 (17 levels for the 8x8 digits, 256 for MNIST) and handed
to models as float32 in [-1, 1]:

    x = 2 * k / (levels - 1) - 1            from_levels(k, levels)
    k = round((x + 1) / 2 * (levels - 1))   to_levels(x, levels), clipped to 0..levels-1

so a discrete likelihood model (PixelCNN's softmax over 256 values, a discretised logistic) can
recover the exact integers of a batch with ``to_levels(x, ds.levels)``.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from minigen.backend import get_array_module

SPLITS = ("train", "test")


def check_split(split):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return split


def _check_levels(levels):
    if not isinstance(levels, (int, np.integer)) or levels < 2:
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")


def from_levels(k, levels):
    """Integer levels 0..levels-1 -> float32 in [-1, 1] (works on NumPy and CuPy arrays)."""
    _check_levels(levels)
    xp = get_array_module(k)
    return (xp.asarray(k, dtype=xp.float32) * (2.0 / (levels - 1)) - 1.0).astype(xp.float32)


def to_levels(x, levels):
    """Floats in [-1, 1] -> int64 levels 0..levels-1, rounding to the nearest level and clipping."""
    _check_levels(levels)
    xp = get_array_module(x)
    k = xp.rint((xp.asarray(x, dtype=xp.float64) + 1.0) * ((levels - 1) / 2.0))
    return xp.clip(k, 0, levels - 1).astype(xp.int64)


@dataclass(eq=False)
class Dataset:
    """One split of one dataset, as arrays in memory.

    x           float32; images (N, C, H, W) in [-1, 1], 2-D toys (N, 2)
    y           int64 (N,) class labels (for ring8/grid25 the index of the mode), or None
    num_classes number of classes (0 when y is None)
    levels      number of discrete intensity levels of the raw images (17 or 256), None for toys
    shape       shape of one example, e.g. (1, 28, 28) or (2,)
    centers     (K, 2) float32 mode centres of ring8 / grid25, else None
    sigma       standard deviation of each mode of ring8 / grid25, else None
    pair_of     for a domain-adaptation / translation target: the name of its source dataset
    """
    name: str
    split: str
    x: np.ndarray
    y: Optional[np.ndarray]
    num_classes: int
    levels: Optional[int]
    description: str = ""
    centers: Optional[np.ndarray] = None
    sigma: Optional[float] = None
    pair_of: Optional[str] = None
    shape: Tuple[int, ...] = field(init=False)

    def __post_init__(self):
        if self.x.dtype != np.float32:
            raise TypeError(f"dataset {self.name!r}: x must be float32, got {self.x.dtype}")
        if self.y is not None and (self.y.shape != (len(self.x),) or self.y.dtype != np.int64):
            raise ValueError(f"dataset {self.name!r}: y must be int64 of shape ({len(self.x)},), "
                             f"got {self.y.dtype} of shape {self.y.shape}")
        self.shape = tuple(int(s) for s in self.x.shape[1:])

    def __len__(self):
        return len(self.x)

    @property
    def is_image(self):
        return self.x.ndim == 4

    def arrays(self):
        """(x, y) when labelled, else (x,): what a DataLoader batches."""
        return (self.x,) if self.y is None else (self.x, self.y)

    def __repr__(self):
        extra = f", levels={self.levels}" if self.levels else ""
        if self.sigma is not None:
            extra += f", modes={len(self.centers)}, sigma={self.sigma}"
        return (f"Dataset({self.name!r}, split={self.split!r}, n={len(self)}, shape={self.shape}, "
                f"num_classes={self.num_classes}{extra})")
