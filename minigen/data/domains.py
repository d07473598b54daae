"""Second domains made from mnist5k, for image translation (CycleGAN) and domain adaptation (DANN).

Each target image is made from the mnist5k image with the same index, so the labels are the same
and a translation can be checked against the image it should have produced. Trainers that want
unpaired data draw the two domains with independently shuffled loaders.

mnist5k-inverted  255 - pixel: dark digits on a white page. A pointwise change: the first CycleGAN
                  to try, since a 1x1 convolution can learn it.
mnist5k-bold      each pixel replaced by the maximum of its 3x3 neighbourhood (grey dilation):
                  the same digits drawn with a pen about 2 pixels wider. A spatial change of
                  style, where translation has to move ink rather than recolour it.
mnistm5k          an MNIST-M-like colour set (Ganin et al. 2016): each digit blended into a colour
                  texture as |texture - digit| per channel, so strokes invert the colours under
                  them. MNIST-M cuts its textures from BSDS500 photographs; here they are made
                  procedurally with a seeded NumPy generator (below), so the set ships as code.
                  Shape (3, 28, 28), still 256 levels. For DANN, ``load_pair`` repeats the grey
                  source over 3 channels so both domains have the same shape.

A texture is two random colours mixed by smooth value noise (random grids of 4x4 and 7x7 values,
bilinearly upsampled to 28x28, weights 2:1), plus a faint per-pixel grain. All random numbers come
from one stream, numpy.random.default_rng(TEXTURE_SEED), one row of uniforms per image in index
order, so the set is the same on every run.
"""
import functools

import numpy as np

from . import embedded

TEXTURE_SEED = 2016  # the year of the DANN paper
SOURCE = "mnist5k"


def invert(images):
    return (255 - images.astype(np.int16)).astype(np.uint8)


def dilate3x3(images):
    """Grey dilation of uint8 images (N, H, W) with a 3x3 square (edges padded with 0)."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.uint8)
    padded[:, 1:-1, 1:-1] = images
    out = np.zeros_like(images)
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, padded[:, dy:dy + h, dx:dx + w], out=out)
    return out


def upsample_bilinear(grid, size):
    """(N, C, g, g) -> (N, C, size, size) by bilinear interpolation, grid corners on image corners."""
    g = grid.shape[-1]
    pos = np.linspace(0.0, g - 1.0, size)
    lo = np.minimum(np.floor(pos).astype(int), g - 2)
    frac = pos - lo
    rows = grid[:, :, lo, :] * (1 - frac)[:, None] + grid[:, :, lo + 1, :] * frac[:, None]
    return rows[..., lo] * (1 - frac) + rows[..., lo + 1] * frac


def textures(n, size, rng):
    """n colour textures (n, 3, size, size), float values in [0, 255].

    Each texture takes one row of rng.random((n, k)), so drawing them in chunks gives the same
    textures as drawing them all at once.
    """
    parts = {"coarse": (1, 4, 4), "fine": (1, 7, 7), "colour_a": (3, 1, 1), "colour_b": (3, 1, 1),
             "grain": (3, size, size)}
    sizes = [int(np.prod(shape)) for shape in parts.values()]
    row = np.split(rng.random((n, sum(sizes))), np.cumsum(sizes)[:-1], axis=1)
    u = {name: r.reshape((n,) + shape) for (name, shape), r in zip(parts.items(), row)}
    mix = (2 * upsample_bilinear(u["coarse"], size) + upsample_bilinear(u["fine"], size)) / 3
    # Stretch each mixing field to [0, 1] so every texture really shows both colours.
    lo = mix.min(axis=(2, 3), keepdims=True)
    hi = mix.max(axis=(2, 3), keepdims=True)
    mix = (mix - lo) / np.maximum(hi - lo, 1e-6)
    texture = 255 * (u["colour_a"] * (1 - mix) + u["colour_b"] * mix) + 20 * (u["grain"] - 0.5)
    return np.clip(texture, 0, 255)


def mnistm(images, seed=TEXTURE_SEED, chunk=1000):
    """uint8 (N, H, W) grey digits -> uint8 (N, 3, H, W) digits blended into colour textures."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images), 3) + images.shape[1:], dtype=np.uint8)
    for start in range(0, len(images), chunk):
        digits = images[start:start + chunk, None].astype(np.float64)
        texture = textures(len(digits), images.shape[-1], rng)
        out[start:start + chunk] = np.rint(np.abs(texture - digits)).astype(np.uint8)
    return out


# name -> (transform of all uint8 source images (N, H, W) -> uint8 (N, [C,] H, W), description)
DOMAINS = {
    "mnist5k-inverted": (invert, "mnist5k with inverted intensities (dark digits on white), "
                                 "CycleGAN target"),
    "mnist5k-bold": (dilate3x3, "mnist5k drawn with bold strokes (3x3 grey dilation), "
                                "CycleGAN target"),
    "mnistm5k": (mnistm, "MNIST-M-like: mnist5k blended into seeded colour textures, 3x28x28, "
                         "DANN target"),
}


@functools.lru_cache(maxsize=None)
def _all_images(name):
    if name not in DOMAINS:
        raise ValueError(f"unknown domain {name!r}; expected one of {sorted(DOMAINS)}")
    images = DOMAINS[name][0](embedded.load_npz(SOURCE)["images"])
    images.setflags(write=False)
    return images


def raw_split(name, split):
    """(uint8 images (N, H, W) or (N, 3, H, W), int64 labels) of one split of a domain, in the
    same order as mnist5k's split, so example i of both is the same digit."""
    arrays = embedded.load_npz(SOURCE)
    index = arrays[f"{split}_index"]
    return _all_images(name)[index], arrays["labels"][index]
