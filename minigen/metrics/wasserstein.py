"""Wasserstein distances between empirical samples (lecture §1.4, §5.2 WGAN).

For distributions P and Q on the real line with quantile functions F^-1 and G^-1,

    W_p(P, Q) = ( integral_0^1 |F^-1(t) - G^-1(t)|^p dt )^(1/p),

exactly, for every p >= 1. For two empirical samples both quantile functions are step functions, so
the integral is a finite sum over the merged breakpoints {i/n} U {j/m}; with n = m it reduces to
comparing the sorted samples: W_p^p = (1/n) sum_i |x_(i) - y_(i)|^p.

In several dimensions no such formula exists; the sliced Wasserstein distance averages the 1-D
distance over random directions theta on the unit sphere (Rabin et al. 2011; Bonneel et al. 2015):

    SW_p(P, Q) = ( E_theta W_p^p(theta . P, theta . Q) )^(1/p).
"""

import numpy as np

from ._validation import as_samples, check_same_dim


def _wasserstein_power_1d(x, y, p):
    """W_p(x, y)^p for 1-D samples ``x`` (n,) and ``y`` (m,), integrating the quantile difference."""
    n, m = x.shape[0], y.shape[0]
    x, y = np.sort(x), np.sort(y)
    # Breakpoints of both step quantile functions on the common integer grid t * n * m, so the merge
    # is exact (no float ties between i/n and j/m).
    breaks = np.union1d(np.arange(n + 1) * m, np.arange(m + 1) * n)
    left, right = breaks[:-1], breaks[1:]
    # On (left, right] both quantile functions are constant; read them at the interval midpoint.
    x_index = (left + right) // (2 * m)
    y_index = (left + right) // (2 * n)
    widths = (right - left) / (n * m)
    return np.sum(widths * np.abs(x[x_index] - y[y_index]) ** p)


def _check_p(p):
    if not p >= 1:
        raise ValueError(f"p must be >= 1 for a Wasserstein distance, got p={p}.")
    return float(p)


def wasserstein_1d(x, y, p=1):
    """Exact p-Wasserstein distance between two 1-D empirical samples (lecture §1.4).

        W_p(x, y) = ( integral_0^1 |F_x^-1(t) - F_y^-1(t)|^p dt )^(1/p)

    ``x`` (n,) and ``y`` (m,) may have different sizes; each sample point carries mass 1/n resp. 1/m.
    For p = 1 this equals ``scipy.stats.wasserstein_distance(x, y)``. W_1(x, x + c) = |c|.
    """
    p = _check_p(p)
    x = as_samples(x, "x")
    y = as_samples(y, "y")
    if x.shape[1] != 1 or y.shape[1] != 1:
        raise ValueError(
            f"wasserstein_1d needs 1-D samples, but x has shape {x.shape} and y has shape {y.shape}; "
            "use sliced_wasserstein for several dimensions."
        )
    return float(_wasserstein_power_1d(x[:, 0], y[:, 0], p) ** (1.0 / p))


def sliced_wasserstein(x, y, p=2, n_projections=128, seed=0):
    """Sliced p-Wasserstein distance between samples in R^D, by random projections (lecture §1.4).

        SW_p(x, y) ~ ( (1/L) sum_{l=1..L} W_p^p(x theta_l, y theta_l) )^(1/p),  theta_l ~ Uniform(S^{D-1})

    ``x`` (n, D) and ``y`` (m, D); ``n_projections`` = L directions drawn from ``seed`` so the value
    is reproducible. SW of a set with itself is 0; for D = 1 it equals ``wasserstein_1d``.
    """
    p = _check_p(p)
    x = as_samples(x, "x")
    y = as_samples(y, "y")
    check_same_dim(x, y, "x", "y")
    if n_projections < 1:
        raise ValueError(f"n_projections must be >= 1, got {n_projections}.")
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((x.shape[1], n_projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    x_proj, y_proj = x @ directions, y @ directions
    powers = [_wasserstein_power_1d(x_proj[:, l], y_proj[:, l], p) for l in range(n_projections)]
    return float(np.mean(powers) ** (1.0 / p))
