"""Improved precision and recall of generative models (Kynkäänniemi et al. 2019, "Improved
Precision and Recall Metric for Assessing Generative Models"; complements FID of lecture §1.7).

FID mixes two failures into one number: bad samples and missing modes. Precision and recall
separate them. Each sample set approximates its manifold by the union of balls around its points,
each ball reaching to that point's k-th nearest neighbour (k = 3 in the paper):

    manifold(S) = union_{s in S} B(s, ||s - NN_k(s)||),
    precision   = (1/|F|) sum_{f in F} [f in manifold(R)]   (share of fakes that look real),
    recall      = (1/|R|) sum_{r in R} [r in manifold(F)]   (share of the real data the model covers),

with R the real and F the generated features.
"""

import numpy as np

from ._validation import as_samples, check_same_dim


def _squared_distances(a, b):
    """All squared Euclidean distances between rows of ``a`` (m, d) and ``b`` (n, d), as (m, n)."""
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def _batches(n, batch_size):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def knn_radii_squared(points, k, batch_size):
    """Squared distance from each row of ``points`` to its k-th nearest other row, in row batches."""
    radii = np.empty(points.shape[0])
    for rows in _batches(points.shape[0], batch_size):
        d2 = _squared_distances(points[rows], points)
        # Column 0 of the partition is the point itself (distance 0), so index k is the k-th neighbour.
        radii[rows] = np.partition(d2, k, axis=1)[:, k]
    return radii


def manifold_membership(queries, support, radii_squared, batch_size):
    """Boolean (n_queries,): does each query lie within the k-NN ball of some support point?"""
    inside = np.empty(queries.shape[0], dtype=bool)
    for rows in _batches(queries.shape[0], batch_size):
        inside[rows] = np.any(_squared_distances(queries[rows], support) <= radii_squared, axis=1)
    return inside


def precision_recall(real, fake, k=3, batch_size=1024):
    """Improved precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019): (precision, recall).

        precision = share of ``fake`` rows inside manifold(real)
        recall    = share of ``real`` rows inside manifold(fake)

    ``real`` (N_r, d) and ``fake`` (N_f, d) are features (or raw points for 2-D toys); each set needs
    more than k rows. Distances are computed ``batch_size`` rows at a time, so memory stays at
    O(batch_size * max(N_r, N_f)) floats. Identical sets score (1, 1); far-apart sets score (0, 0).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    real = as_samples(real, "real", min_samples=k + 1)
    fake = as_samples(fake, "fake", min_samples=k + 1)
    check_same_dim(real, fake, "real", "fake")
    real_radii = knn_radii_squared(real, k, batch_size)
    fake_radii = knn_radii_squared(fake, k, batch_size)
    precision = manifold_membership(fake, real, real_radii, batch_size).mean()
    recall = manifold_membership(real, fake, fake_radii, batch_size).mean()
    return float(precision), float(recall)
