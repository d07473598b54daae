"""Seeded 2-D toy distributions: the test beds for mode collapse and for density models.

ring8      8 Gaussians, equal weights, centres on a circle of radius 2 at angles 2*pi*k/8,
           standard deviation 0.02 per coordinate. The setting of Unrolled GAN (Metz et al. 2017),
           VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018). y = index of the mode.
grid25     25 Gaussians, equal weights, centres {-4, -2, 0, 2, 4}^2, standard deviation 0.05
           (VEEGAN, PacGAN). y = index of the mode (row-major over the grid).
swissroll  t ~ Uniform(1.5*pi, 4.5*pi), point (t cos t, t sin t) / 5 plus N(0, 0.1^2) noise per
           coordinate: a spiral in about [-2.8, 2.8]^2. No labels.
moons      two interleaving half circles (scikit-learn's make_moons), centred and doubled:
           moon 0 = 2 * (cos a - 0.5, sin a - 0.25), moon 1 = 2 * (0.5 - cos a, 0.25 - sin a),
           a ~ Uniform(0, pi), plus N(0, 0.1^2) noise; y = which moon.

The mode-coverage metrics read ``centers`` and ``sigma`` from ring8 and grid25: a sample is
"high quality" when it lies within 3 sigma of some centre, and a mode is covered when enough
samples land on it. Every sampler takes a seed; the same seed gives the same points.
"""
import numpy as np

RING8_RADIUS, RING8_SIGMA = 2.0, 0.02
GRID25_SIGMA = 0.05
SWISSROLL_NOISE = 0.1
MOONS_NOISE = 0.1


def ring8_centers():
    angles = 2 * np.pi * np.arange(8) / 8
    return (RING8_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid25_centers():
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def gaussian_mixture(centers, sigma, n, rng):
    """n points from an equal-weight mixture of isotropic Gaussians; returns (x, mode index)."""
    k = rng.integers(0, len(centers), size=n)
    x = centers[k].astype(np.float64) + sigma * rng.standard_normal((n, 2))
    return x.astype(np.float32), k.astype(np.int64)


def swissroll(n, rng):
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 5.0
    x += SWISSROLL_NOISE * rng.standard_normal((n, 2))
    return x.astype(np.float32), None


def moons(n, rng):
    y = rng.integers(0, 2, size=n)
    a = np.pi * rng.random(n)
    outer = np.stack([np.cos(a) - 0.5, np.sin(a) - 0.25], axis=1)
    x = np.where(y[:, None] == 0, outer, -outer) * 2.0
    x += MOONS_NOISE * rng.standard_normal((n, 2))
    return x.astype(np.float32), y.astype(np.int64)


# name -> (sampler(n, rng) -> (x, y or None), number of classes, centres or None, sigma or None)
TOYS = {
    "ring8": (lambda n, rng: gaussian_mixture(ring8_centers(), RING8_SIGMA, n, rng),
              8, ring8_centers, RING8_SIGMA),
    "grid25": (lambda n, rng: gaussian_mixture(grid25_centers(), GRID25_SIGMA, n, rng),
               25, grid25_centers, GRID25_SIGMA),
    "swissroll": (swissroll, 0, None, None),
    "moons": (moons, 2, None, None),
}

DEFAULT_SIZE = {"train": 10_000, "test": 2_000}
# Different splits draw from different streams, so train and test never share points.
SPLIT_SEED = {"train": 0, "test": 1}


def sample_toy(name, n, seed):
    """(x float32 (n, 2), y int64 (n,) or None, num_classes, centers, sigma) of toy ``name``."""
    if name not in TOYS:
        raise ValueError(f"unknown toy dataset {name!r}; expected one of {sorted(TOYS)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    sampler, num_classes, centers, sigma = TOYS[name]
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    x, y = sampler(int(n), rng)
    return x, y, num_classes, (None if centers is None else centers()), sigma
