"""Specification of the Fréchet Inception Distance of minigen.metrics (lecture §1.7)."""

import numpy as np
import pytest
import scipy.linalg

from minigen.metrics import feature_statistics, fid_from_features, frechet_distance, trace_sqrt_product


def _reference_fid(mu1, sigma1, mu2, sigma2):
    """Textbook formula with a general matrix square root; reliable only for well-conditioned inputs."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * root.real))


def test_fid_of_diagonal_gaussians_is_mean_gap_plus_gap_of_standard_deviations():
    a, b = np.array([1.0, 4.0, 0.25, 9.0]), np.array([4.0, 1.0, 1.0, 0.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.5])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_fid_agrees_with_the_sqrtm_formula_on_well_conditioned_features():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 8))
    y = rng.standard_normal((250, 8)) @ rng.standard_normal((8, 8)) * 0.5 + 0.3
    expected = _reference_fid(*feature_statistics(x), *feature_statistics(y))
    assert fid_from_features(x, y) == pytest.approx(expected, rel=1e-9)


def test_fid_of_a_feature_set_with_itself_is_zero():
    x = np.random.default_rng(1).standard_normal((100, 20)) * 3.0 + 1.0
    scale = np.trace(feature_statistics(x)[1])
    assert abs(fid_from_features(x, x)) <= 1e-6 * scale


def test_fid_is_symmetric():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((60, 5)), rng.standard_normal((80, 5)) * 2 + 1
    assert fid_from_features(x, y) == pytest.approx(fid_from_features(y, x), rel=1e-10)


def test_fid_uses_unbiased_covariances():
    x = np.array([[0.0], [2.0]])  # mean 1, variance 2 with ddof=1 (1 with ddof=0)
    y = np.array([[1.0], [1.0]])  # mean 1, variance 0
    assert fid_from_features(x, y) == pytest.approx(2.0, rel=1e-12)


def test_fid_with_more_dimensions_than_samples_is_finite_nonnegative_and_rotation_invariant():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((10, 64)), rng.standard_normal((12, 64)) + 0.1
    fid = fid_from_features(x, y)
    assert np.isfinite(fid) and fid > 0
    rotation, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    assert fid_from_features(x @ rotation, y @ rotation) == pytest.approx(fid, rel=1e-8)
    assert fid_from_features(x + 5.0, y + 5.0) == pytest.approx(fid, rel=1e-8)


def test_trace_sqrt_survives_singular_products_with_round_off_negative_eigenvalues():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((50, 3))
    sigma = a @ a.T  # rank 3 in 50 dimensions; eigh returns tiny negative eigenvalues
    assert np.linalg.eigvalsh(sigma).min() < 0
    # (sigma sigma)^(1/2) = sigma, so the trace of the root is the trace of sigma.
    assert trace_sqrt_product(sigma, sigma) == pytest.approx(np.trace(sigma), rel=1e-6)
    assert frechet_distance(np.zeros(50), sigma, np.zeros(50), sigma) == pytest.approx(0.0, abs=1e-6 * np.trace(sigma))


def test_fid_of_disjoint_rank_deficient_covariances_is_the_sum_of_their_traces():
    # sigma1 sigma2 = 0 when the two supports are orthogonal, so FID = tr(sigma1) + tr(sigma2).
    sigma1, sigma2 = np.diag([2.0, 3.0, 0.0, 0.0]), np.diag([0.0, 0.0, 1.0, 5.0])
    assert frechet_distance(np.zeros(4), sigma1, np.zeros(4), sigma2) == pytest.approx(11.0, rel=1e-12)


def test_fid_error_names_the_shapes_of_features_with_different_dimensions():
    with pytest.raises(ValueError, match=r"\(10, 4\).*\(10, 3\)"):
        fid_from_features(np.zeros((10, 4)), np.zeros((10, 3)))


def test_fid_needs_at_least_two_samples_per_set():
    with pytest.raises(ValueError, match=r"at least 2 samples.*\(1, 4\)"):
        fid_from_features(np.zeros((1, 4)), np.zeros((10, 4)))


def test_frechet_distance_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(2,\)"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
