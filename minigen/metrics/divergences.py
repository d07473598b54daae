"""Divergences between probability distributions (lecture §1.4).

The lecture measures how far the model distribution Q is from the data distribution P with the
Kullback-Leibler divergence

    KL(P || Q) = integral p(x) log(p(x) / q(x)) dx      (discrete: sum_x p(x) log(p(x) / q(x)))

which is >= 0, equals 0 only when P = Q, and is not symmetric. §1.4 names the Jensen-Shannon
divergence and the Wasserstein distance (see ``wasserstein.py``) as the other yardsticks.
All values are in nats (natural logarithms).
"""

import numpy as np
import scipy.linalg
from scipy.special import rel_entr

from ._validation import (as_float_array, as_mean_and_covariance, as_probabilities,
                          check_same_shape)


def _scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x


def kl_divergence(p, q):
    """Discrete KL divergence KL(p || q) in nats (lecture §1.4).

        KL(p || q) = sum_k p_k log(p_k / q_k),   with 0 log(0 / q) = 0 and p log(p / 0) = inf.

    ``p`` and ``q`` hold probability vectors along their last axis (entries >= 0 summing to 1) and
    must have the same shape; leading axes are a batch, giving one divergence per row.
    Returns a float for 1-D inputs, else an array of the leading shape.
    """
    p = as_probabilities(p, "p")
    q = as_probabilities(q, "q")
    check_same_shape(p, q, "p", "q")
    return _scalar_or_array(rel_entr(p, q).sum(axis=-1))


def js_divergence(p, q):
    """Discrete Jensen-Shannon divergence in nats (lecture §1.4; Lin 1991).

        JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2,   m = (p + q) / 2.

    Symmetric, always finite, 0 <= JS <= log 2 (reached for disjoint supports). The GAN objective at
    the optimal discriminator equals 2 JS(p_data, p_model) - log 4 (Goodfellow et al. 2014, Theorem 1; lecture §4.4).
    Same input conventions as ``kl_divergence``.
    """
    p = as_probabilities(p, "p")
    q = as_probabilities(q, "q")
    check_same_shape(p, q, "p", "q")
    # p log(p / m) is written as rel_entr(2p, p + q) / 2: forming m = (p + q) / 2 directly would
    # underflow to 0 for subnormal entries and turn a bounded divergence into inf.
    total = p + q
    return _scalar_or_array(0.25 * (rel_entr(2 * p, total) + rel_entr(2 * q, total)).sum(axis=-1))


def _cholesky(cov, name):
    try:
        return scipy.linalg.cholesky(cov, lower=True)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{name} (shape {cov.shape}) must be symmetric positive definite, "
            "but its Cholesky factorisation failed."
        ) from None


def _check_gaussian(mu, cov, mu_name, cov_name):
    return as_mean_and_covariance(mu, cov, mu_name, cov_name, rtol=1e-8, atol=1e-10)


def kl_gaussian(mu1, cov1, mu2, cov2):
    """KL(N(mu1, cov1) || N(mu2, cov2)) between multivariate Gaussians, closed form (lecture §1.4, §3).

        KL = ( tr(cov2^-1 cov1) + (mu2 - mu1)^T cov2^-1 (mu2 - mu1) - d
               + log det cov2 - log det cov1 ) / 2

    ``mu1``, ``mu2`` have shape (d,), ``cov1``, ``cov2`` shape (d, d), symmetric positive definite.
    Computed through Cholesky factors L (cov = L L^T): tr(cov2^-1 cov1) = ||L2^-1 L1||_F^2 and
    log det cov = 2 sum log diag L, which avoids forming an explicit inverse.
    """
    mu1, cov1 = _check_gaussian(mu1, cov1, "mu1", "cov1")
    mu2, cov2 = _check_gaussian(mu2, cov2, "mu2", "cov2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 has shape {mu1.shape} but mu2 has shape {mu2.shape}; they must match.")
    l1 = _cholesky(cov1, "cov1")
    l2 = _cholesky(cov2, "cov2")
    trace_term = np.sum(scipy.linalg.solve_triangular(l2, l1, lower=True) ** 2)
    mahalanobis = np.sum(scipy.linalg.solve_triangular(l2, mu2 - mu1, lower=True) ** 2)
    logdet1 = 2.0 * np.sum(np.log(np.diag(l1)))
    logdet2 = 2.0 * np.sum(np.log(np.diag(l2)))
    return float(0.5 * (trace_term + mahalanobis - mu1.shape[0] + logdet2 - logdet1))


def kl_gaussian_diag(mu1, var1, mu2, var2):
    """KL between Gaussians with diagonal covariances, summed over the last axis (lecture §3).

        KL = sum_j ( var1_j / var2_j + (mu2_j - mu1_j)^2 / var2_j - 1 + log var2_j - log var1_j ) / 2

    Arguments are variances (not log-variances) and broadcast against each other; the last axis is
    the dimension, leading axes a batch (e.g. the VAE's per-example KL to N(0, I)).
    """
    mu1, mu2 = as_float_array(mu1, "mu1"), as_float_array(mu2, "mu2")
    var1, var2 = as_float_array(var1, "var1"), as_float_array(var2, "var2")
    for name, var in (("var1", var1), ("var2", var2)):
        if np.any(var <= 0):
            raise ValueError(f"{name} (shape {var.shape}) must be > 0, but its minimum is {var.min():.3g}.")
    try:
        shape = np.broadcast_shapes(mu1.shape, var1.shape, mu2.shape, var2.shape)
    except ValueError:
        raise ValueError(
            f"mu1 {mu1.shape}, var1 {var1.shape}, mu2 {mu2.shape} and var2 {var2.shape} "
            "do not broadcast together."
        ) from None
    if len(shape) == 0:
        raise ValueError("kl_gaussian_diag needs at least one dimension; all arguments are scalars.")
    terms = var1 / var2 + (mu2 - mu1) ** 2 / var2 - 1.0 + np.log(var2) - np.log(var1)
    return _scalar_or_array(0.5 * np.broadcast_to(terms, shape).sum(axis=-1))


def _as_draws(samples):
    samples = as_float_array(samples, "samples")
    if samples.ndim == 0 or samples.shape[0] < 2:
        raise ValueError(
            f"samples must hold at least 2 draws along axis 0, but has shape {samples.shape}."
        )
    return samples


def _log_density(log_density, name, samples):
    values = as_float_array(log_density(samples), f"{name}(samples)")
    if values.shape != (samples.shape[0],):
        raise ValueError(
            f"{name} must return shape ({samples.shape[0]},) for samples of shape {samples.shape}, "
            f"but returned shape {values.shape}."
        )
    return values


def kl_monte_carlo(log_p, log_q, samples):
    """Monte Carlo estimate of KL(p || q) from samples of p (lecture §1.4).

        KL(p || q) = E_{x ~ p}[log p(x) - log q(x)]  ~  (1/N) sum_i (log p(x_i) - log q(x_i)),  x_i ~ p.

    ``log_p`` and ``log_q`` are callables mapping the (N, ...) array ``samples`` to N log-densities.
    Returns ``(estimate, standard_error)`` where standard_error = std(log p - log q, ddof=1) / sqrt(N),
    so the true KL lies within a few standard errors of the estimate.
    """
    samples = _as_draws(samples)
    log_ratio = _log_density(log_p, "log_p", samples) - _log_density(log_q, "log_q", samples)
    return float(log_ratio.mean()), float(log_ratio.std(ddof=1) / np.sqrt(samples.shape[0]))
