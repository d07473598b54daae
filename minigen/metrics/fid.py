"""Fréchet Inception Distance (lecture §1.7; Heusel et al. 2017, "GANs Trained by a Two Time-Scale
Update Rule Converge to a Local Nash Equilibrium").

Features of real and generated images are modelled as Gaussians N(mu_r, Sigma_r), N(mu_g, Sigma_g),
and FID is the squared 2-Wasserstein (Fréchet) distance between them:

    FID = ||mu_r - mu_g||^2 + tr(Sigma_r + Sigma_g - 2 (Sigma_r Sigma_g)^(1/2)).

Lower is better; FID(X, X) = 0. The value depends on the feature extractor and on the sample size
(it is biased upwards for small N), so compare FIDs only under the same extractor and N, and read
them against the real-vs-real FID of the dataset (``fid_floor`` in metrics.json).
"""

import numpy as np

from ._validation import as_mean_and_covariance, as_samples, check_same_dim


def _psd_sqrt(matrix):
    """Symmetric square root of a symmetric positive semi-definite matrix via its eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def trace_sqrt_product(sigma1, sigma2):
    """tr((sigma1 sigma2)^(1/2)) for symmetric PSD ``sigma1``, ``sigma2``.

    sigma1 sigma2 is not symmetric, and a general matrix square root (scipy.linalg.sqrtm) of it
    returns complex round-off and fails on the singular products that FID meets whenever there are
    fewer samples than feature dimensions. We use instead that sigma1 sigma2 = A (A sigma2) with
    A = sigma1^(1/2), and that A B and B A have the same eigenvalues, so sigma1 sigma2 has the
    eigenvalues of M = A sigma2 A, which is symmetric PSD. Hence

        tr((sigma1 sigma2)^(1/2)) = sum_i sqrt(lambda_i(M)),

    exactly, computed with symmetric eigensolvers only; eigenvalues that round-off pushes below 0
    are clipped to 0 (they are 0 in exact arithmetic).
    """
    root1 = _psd_sqrt(sigma1)
    m = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh(0.5 * (m + m.T))
    return float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))


def _check_statistics(mu, sigma, mu_name, sigma_name):
    mu, sigma = as_mean_and_covariance(mu, sigma, mu_name, sigma_name, rtol=0.0, atol=1e-8)
    return mu, 0.5 * (sigma + sigma.T)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (lecture §1.7; Dowson & Landau 1982).

        d^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))

    ``mu1``, ``mu2`` have shape (d,), ``sigma1``, ``sigma2`` shape (d, d), symmetric PSD (singular is
    fine). The trace term is computed by ``trace_sqrt_product``. The exact value is >= 0, so round-off
    below zero (of order 1e-12 relative, e.g. for identical inputs) is returned as 0.
    """
    mu1, sigma1 = _check_statistics(mu1, sigma1, "mu1", "sigma1")
    mu2, sigma2 = _check_statistics(mu2, sigma2, "mu2", "sigma2")
    if mu1.shape != mu2.shape:
        raise ValueError(
            f"mu1 has shape {mu1.shape} but mu2 has shape {mu2.shape}; feature dimensions must match."
        )
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)


def feature_statistics(features):
    """Mean and unbiased covariance (ddof=1) of an (N, d) feature array, N >= 2: (mu, sigma)."""
    features = as_samples(features, "features", min_samples=2)
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False, ddof=1))


def fid_from_features(features1, features2):
    """FID between two (N, d) feature arrays (lecture §1.7): the Fréchet distance of their Gaussian fits.

        FID = frechet_distance(mean(f1), cov(f1), mean(f2), cov(f2)),  cov with ddof = 1.

    The sets may differ in size; each needs at least 2 rows and both the same d.
    """
    features1 = as_samples(features1, "features1", min_samples=2)
    features2 = as_samples(features2, "features2", min_samples=2)
    check_same_dim(features1, features2, "features1", "features2")
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))
