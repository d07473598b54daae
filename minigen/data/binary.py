"""Binarized copies of the embedded images: ``digits-binary`` and ``mnist5k-binary``.

The protocol behind published binarized-MNIST likelihoods (Salakhutdinov and Murray 2008; the
PixelCNN paper's 81.30 nats): each pixel is drawn **once** as Bernoulli(intensity), with
intensity = k / (levels - 1) for the grey level k, and the draw is then fixed, so every model
is trained and tested on the same binary images (re-drawing them every epoch would be a different,
easier problem). The split, the order and the labels are those of the grey set, so image i of
``mnist5k-binary`` is a draw of image i of ``mnist5k``; values are 0/1 (levels = 2), which the
loader maps to -1 and 1 as for any other image set.

The uniforms come from NumPy's PCG64 bit generator seeded with BINARIZE_SEED, one 64-bit word
per pixel of the stored image array (image by image, row by row), turned into u = (w >> 11) / 2^53:
NumPy guarantees the raw bit stream of PCG64 across versions (unlike the distributions built on
it), so the binary sets are the same bits on every machine. A pixel is 1 when u < intensity, so
ink of full intensity is always 1 and an empty background always 0.
"""
import functools

import numpy as np

from . import embedded

BINARIZE_SEED = 2008  # the year of Salakhutdinov and Murray's binarized MNIST

# name -> the grey embedded set it binarizes
BINARY = {"digits-binary": "digits", "mnist5k-binary": "mnist5k"}


def uniforms(n, seed=BINARIZE_SEED):
    """n uniforms in [0, 1) from PCG64's raw stream, stable across NumPy versions."""
    words = np.random.PCG64(seed).random_raw(n)
    return (words >> np.uint64(11)).astype(np.float64) * (1.0 / 2 ** 53)


def binarize(images, levels, seed=BINARIZE_SEED):
    """uint8 images with values 0..levels-1 -> uint8 0/1 images, pixel = [u < k / (levels - 1)]."""
    intensity = images.astype(np.float64) / (levels - 1)
    u = uniforms(images.size, seed).reshape(images.shape)
    return (u < intensity).astype(np.uint8)


@functools.lru_cache(maxsize=None)
def _all_images(name):
    if name not in BINARY:
        raise ValueError(f"no binarized dataset {name!r}; binarized ones are {sorted(BINARY)}")
    source = BINARY[name]
    levels, _ = embedded.EMBEDDED[source]
    images = binarize(embedded.load_npz(source)["images"], levels)
    images.setflags(write=False)
    return images


def raw_split(name, split):
    """(uint8 0/1 images (N, H, W), int64 labels (N,)) of one split, in the grey set's order."""
    arrays = embedded.load_npz(BINARY[name])
    index = arrays[f"{split}_index"]
    return _all_images(name)[index], arrays["labels"][index]
