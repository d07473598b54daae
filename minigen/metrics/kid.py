"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"; lecture §1.7 context).

KID is the squared maximum mean discrepancy between real features X and generated features Y under
the cubic polynomial kernel

    k(x, y) = (x . y / d + 1)^3,    d = feature dimension,

estimated without bias (Gretton et al. 2012, Lemma 6):

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/(m n) sum_{i, j} k(x_i, y_j).

Unlike FID it needs no Gaussian assumption and its estimate is unbiased, so it compares fairly
across sample sizes; for equal distributions it is 0 in expectation and can come out slightly
negative. As in the paper and torch-fidelity, it is averaged over random subsets of both sets.
"""

import numpy as np

from ._validation import as_samples, check_same_dim


def polynomial_kernel(x, y, degree=3, coef0=1.0):
    """k(x, y) = (x . y / d + coef0)^degree for all rows of ``x`` (m, d) and ``y`` (n, d): an (m, n) array."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x, y, kernel=polynomial_kernel):
    """Unbiased estimate of MMD^2 between samples ``x`` (m, d) and ``y`` (n, d), m, n >= 2 (see module doc)."""
    x = as_samples(x, "x", min_samples=2)
    y = as_samples(y, "y", min_samples=2)
    check_same_dim(x, y, "x", "y")
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_inception_distance(features1, features2, n_subsets=100, subset_size=1000, seed=0):
    """KID between two feature sets: mean and std of MMD^2_u over random subsets (Bińkowski et al. 2018).

        KID = (1/S) sum_{s=1..S} MMD^2_u(X_s, Y_s),   X_s, Y_s drawn without replacement,

    with the cubic kernel k(x, y) = (x . y / d + 1)^3. ``features1`` (N1, d), ``features2`` (N2, d).
    Returns ``(mean, std)`` over the ``n_subsets`` subsets (std with ddof=0, as torch-fidelity).
    ``subset_size`` is capped at min(N1, N2), so small sets use all their rows in every subset;
    ``seed`` makes the subsets reproducible.
    """
    features1 = as_samples(features1, "features1", min_samples=2)
    features2 = as_samples(features2, "features2", min_samples=2)
    check_same_dim(features1, features2, "features1", "features2")
    if n_subsets < 1 or subset_size < 2:
        raise ValueError(
            f"n_subsets must be >= 1 and subset_size >= 2, got n_subsets={n_subsets}, "
            f"subset_size={subset_size}."
        )
    size = min(subset_size, features1.shape[0], features2.shape[0])
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            features1[rng.choice(features1.shape[0], size, replace=False)],
            features2[rng.choice(features2.shape[0], size, replace=False)],
        )
        for _ in range(n_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
