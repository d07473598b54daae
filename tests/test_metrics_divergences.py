"""Specification of the divergences and Wasserstein distances of minigen.metrics (lecture §1.4)."""

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.metrics import (
    js_divergence,
    kl_divergence,
    kl_gaussian,
    kl_gaussian_diag,
    kl_monte_carlo,
    sliced_wasserstein,
    wasserstein_1d,
)

FAST = settings(max_examples=60, deadline=None)


@st.composite
def probability_vectors(draw, size=None, allow_zeros=True):
    k = size if size is not None else draw(st.integers(1, 8))
    low = 0.0 if allow_zeros else 1e-3
    weights = np.array(draw(st.lists(st.floats(low, 1.0), min_size=k, max_size=k)))
    if weights.sum() == 0:
        weights[0] = 1.0
    return weights / weights.sum()


@st.composite
def pairs_of_probability_vectors(draw, allow_zeros=True):
    k = draw(st.integers(1, 8))
    return draw(probability_vectors(k, allow_zeros)), draw(probability_vectors(k, allow_zeros))


# ---------------------------------------------------------------- discrete KL and JS


@FAST
@given(probability_vectors())
def test_kl_of_a_distribution_with_itself_is_zero(p):
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)


@FAST
@given(pairs_of_probability_vectors(allow_zeros=False))
def test_kl_is_nonnegative(pq):
    p, q = pq
    assert kl_divergence(p, q) >= -1e-12


def test_kl_matches_a_hand_computed_example_and_is_asymmetric():
    p, q = [0.5, 0.5], [0.9, 0.1]
    expected_pq = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)  # = log(5/3)
    expected_qp = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert kl_divergence(p, q) == pytest.approx(expected_pq, rel=1e-12)
    assert kl_divergence(q, p) == pytest.approx(expected_qp, rel=1e-12)
    assert kl_divergence(p, q) == pytest.approx(math.log(5 / 3), rel=1e-12)
    assert abs(kl_divergence(p, q) - kl_divergence(q, p)) > 0.1


def test_kl_is_infinite_where_q_is_zero_but_p_is_not():
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_kl_terms_with_zero_p_contribute_nothing():
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2.0), rel=1e-12)


def test_kl_computes_one_divergence_per_row_of_a_batch():
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    q = np.array([[0.9, 0.1], [0.9, 0.1]])
    np.testing.assert_allclose(kl_divergence(p, q), [math.log(5 / 3), 0.0], atol=1e-12)


def test_kl_rejects_negative_entries():
    with pytest.raises(ValueError, match="negative"):
        kl_divergence([1.2, -0.2], [0.5, 0.5])


def test_kl_rejects_vectors_that_do_not_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        kl_divergence([0.5, 0.4], [0.5, 0.5])


def test_kl_shape_mismatch_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        kl_divergence([0.2, 0.3, 0.5], [0.5, 0.5])


@FAST
@given(pairs_of_probability_vectors())
def test_js_is_symmetric_and_between_zero_and_log_two(pq):
    p, q = pq
    js = js_divergence(p, q)
    assert js == pytest.approx(js_divergence(q, p), abs=1e-12)
    assert -1e-12 <= js <= math.log(2.0) + 1e-12


def test_js_reaches_log_two_for_disjoint_supports_and_zero_for_equal_inputs():
    assert js_divergence([0.5, 0.5, 0.0], [0.0, 0.0, 1.0]) == pytest.approx(math.log(2.0), rel=1e-12)
    assert js_divergence([0.2, 0.8], [0.2, 0.8]) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- Gaussian KL


def _random_spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.5 * np.eye(d)


def test_gaussian_kl_matches_the_one_dimensional_formula():
    # KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
    expected = math.log(2.0) + (1.0 + 1.0) / (2 * 4.0) - 0.5
    assert kl_gaussian([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(expected, rel=1e-12)
    assert kl_gaussian_diag([0.0], [1.0], [1.0], [4.0]) == pytest.approx(expected, rel=1e-12)


def test_gaussian_kl_of_identical_gaussians_is_zero_and_otherwise_asymmetric():
    rng = np.random.default_rng(0)
    mu1, cov1, mu2, cov2 = rng.standard_normal(4), _random_spd(rng, 4), rng.standard_normal(4), _random_spd(rng, 4)
    assert kl_gaussian(mu1, cov1, mu1, cov1) == pytest.approx(0.0, abs=1e-10)
    assert kl_gaussian(mu1, cov1, mu2, cov2) > 0
    assert kl_gaussian(mu1, cov1, mu2, cov2) != pytest.approx(kl_gaussian(mu2, cov2, mu1, cov1))


def test_gaussian_kl_closed_form_agrees_with_monte_carlo():
    rng = np.random.default_rng(1)
    mu1, cov1, mu2, cov2 = rng.standard_normal(3), _random_spd(rng, 3), rng.standard_normal(3), _random_spd(rng, 3)
    p = scipy.stats.multivariate_normal(mu1, cov1)
    q = scipy.stats.multivariate_normal(mu2, cov2)
    estimate, stderr = kl_monte_carlo(p.logpdf, q.logpdf, p.rvs(20000, random_state=rng))
    assert stderr > 0
    assert abs(estimate - kl_gaussian(mu1, cov1, mu2, cov2)) < 4 * stderr


def test_diagonal_gaussian_kl_equals_full_kl_with_diagonal_matrices_and_batches():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal((2, 5, 3))
    var1, var2 = rng.uniform(0.2, 2.0, (2, 5, 3))
    batch = kl_gaussian_diag(mu1, var1, mu2, var2)
    assert batch.shape == (5,)
    for i in range(5):
        full = kl_gaussian(mu1[i], np.diag(var1[i]), mu2[i], np.diag(var2[i]))
        assert batch[i] == pytest.approx(full, rel=1e-10)


def test_gaussian_kl_rejects_a_covariance_that_is_not_positive_definite():
    with pytest.raises(ValueError, match="positive definite"):
        kl_gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], [0.0, 0.0], np.eye(2))


def test_gaussian_kl_error_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(2,\)"):
        kl_gaussian([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2))


def test_monte_carlo_kl_rejects_log_densities_of_the_wrong_shape():
    samples = np.zeros((10, 2))
    with pytest.raises(ValueError, match=r"\(10,\).*\(10, 1\)"):
        kl_monte_carlo(lambda x: np.zeros(10), lambda x: np.zeros((10, 1)), samples)


# ---------------------------------------------------------------- Wasserstein


@pytest.mark.parametrize("n, m", [(1, 1), (5, 5), (7, 13), (100, 37)])
def test_w1_agrees_with_scipy(n, m):
    rng = np.random.default_rng(n * 100 + m)
    x, y = rng.standard_normal(n), rng.exponential(size=m)
    assert wasserstein_1d(x, y) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-12)


@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
def test_wp_of_a_shifted_sample_is_the_shift(p):
    x = np.random.default_rng(0).standard_normal(50)
    assert wasserstein_1d(x, x + 0.7, p=p) == pytest.approx(0.7, rel=1e-12)
    assert wasserstein_1d(x + 0.7, x, p=p) == pytest.approx(0.7, rel=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_wp_with_unequal_sizes_equals_the_sorted_formula_on_replicated_samples(p):
    # Repeating every point of x m times and of y n times keeps both distributions and makes the
    # sizes equal (n * m), where W_p^p = mean |x_(i) - y_(i)|^p over sorted samples.
    rng = np.random.default_rng(p)
    x, y = rng.standard_normal(4), rng.standard_normal(6) * 2
    xr, yr = np.sort(np.repeat(x, 6)), np.sort(np.repeat(y, 4))
    expected = np.mean(np.abs(xr - yr) ** p) ** (1 / p)
    assert wasserstein_1d(x, y, p=p) == pytest.approx(expected, rel=1e-12)


def test_wasserstein_1d_rejects_multidimensional_samples_and_p_below_one():
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        wasserstein_1d(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="p must be >= 1"):
        wasserstein_1d(np.zeros(5), np.zeros(5), p=0.5)


def test_sliced_wasserstein_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).standard_normal((200, 5))
    assert sliced_wasserstein(x, x) == pytest.approx(0.0, abs=1e-12)


def test_sliced_wasserstein_in_one_dimension_is_the_exact_distance():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(30), rng.standard_normal(20) + 1
    assert sliced_wasserstein(x, y, p=2, n_projections=3) == pytest.approx(wasserstein_1d(x, y, p=2), rel=1e-12)


def test_sliced_w2_of_a_translation_is_its_length_over_root_dimension():
    # Projections of a translation by v move every point by theta . v, and E (theta . v)^2 = |v|^2 / D.
    x = np.random.default_rng(0).standard_normal((100, 4))
    v = np.array([1.0, -2.0, 0.5, 3.0])
    sw = sliced_wasserstein(x, x + v, p=2, n_projections=4000, seed=3)
    assert sw == pytest.approx(np.linalg.norm(v) / 2.0, rel=0.05)


def test_sliced_wasserstein_is_reproducible_for_a_seed_and_names_mismatched_shapes():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((40, 3))
    assert sliced_wasserstein(x, y, seed=5) == sliced_wasserstein(x, y, seed=5)
    with pytest.raises(ValueError, match=r"\(50, 3\).*\(40, 2\)"):
        sliced_wasserstein(x, y[:, :2])
