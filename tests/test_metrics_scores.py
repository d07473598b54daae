"""Specification of Inception Score, KID and class accuracy in minigen.metrics (lecture §1.7)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.metrics import class_accuracy, inception_score, kernel_inception_distance, mmd2_unbiased

# ---------------------------------------------------------------- Inception Score


def test_is_of_confident_predictions_spread_evenly_over_classes_is_the_number_of_classes():
    probs = np.tile(np.eye(10), (10, 1))  # each split of 10 rows holds every class once
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_is_of_a_constant_prediction_is_one():
    probs = np.tile([0.1, 0.6, 0.3], (50, 1))
    mean, std = inception_score(probs, splits=5)
    assert mean == pytest.approx(1.0, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_is_matches_a_hand_computed_example():
    probs = [[1.0, 0.0], [0.5, 0.5]]
    # marginal p(y) = (0.75, 0.25)
    kl_first = math.log(1.0 / 0.75)
    kl_second = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    mean, _ = inception_score(probs, splits=1)
    assert mean == pytest.approx(math.exp((kl_first + kl_second) / 2), rel=1e-12)


def test_is_splits_cover_every_row_when_n_is_not_divisible():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=7)
    chunks = [probs[0:2], probs[2:4], probs[4:7]]  # i * 7 // 3 boundaries: 0, 2, 4, 7
    scores = [inception_score(chunk, splits=1)[0] for chunk in chunks]
    mean, std = inception_score(probs, splits=3)
    assert mean == pytest.approx(np.mean(scores), rel=1e-12)
    assert std == pytest.approx(np.std(scores), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(2, 30), st.floats(0.05, 5.0), st.integers(0, 2**31))
def test_is_lies_between_one_and_the_number_of_classes(classes, n, concentration, seed):
    probs = np.random.default_rng(seed).dirichlet(np.full(classes, concentration), size=n)
    mean, _ = inception_score(probs, splits=1)
    assert 1.0 - 1e-9 <= mean <= classes + 1e-9


def test_is_rejects_rows_that_are_not_probabilities_and_too_many_splits():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.full((4, 3), 0.5), splits=1)
    with pytest.raises(ValueError, match=r"splits.*\(4, 3\)"):
        inception_score(np.full((4, 3), 1 / 3), splits=10)


# ---------------------------------------------------------------- KID


def _mmd2_by_definition(x, y):
    def k(a, b):
        return (a @ b / a.shape[0] + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_mmd_matches_its_definition_with_the_cubic_kernel():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((5, 3)) + 0.5
    assert mmd2_unbiased(x, y) == pytest.approx(_mmd2_by_definition(x, y), rel=1e-12)


def test_kid_of_two_samples_of_one_distribution_is_near_zero():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    mean, std = kernel_inception_distance(x, y, n_subsets=20, subset_size=200)
    shifted, _ = kernel_inception_distance(x, y + 1.0, n_subsets=20, subset_size=200)
    assert abs(mean) < 0.02 * shifted
    assert std > 0


def test_kid_is_positive_for_shifted_distributions_and_grows_with_the_shift():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((300, 8)), rng.standard_normal((300, 8))
    small, _ = kernel_inception_distance(x, y + 0.5, n_subsets=10, subset_size=100)
    large, _ = kernel_inception_distance(x, y + 1.0, n_subsets=10, subset_size=100)
    assert 0 < small < large


def test_kid_caps_the_subset_size_at_the_smaller_set_and_is_reproducible():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((20, 4))
    mean, std = kernel_inception_distance(x[:20], y, n_subsets=5, subset_size=1000)
    assert mean == pytest.approx(mmd2_unbiased(x[:20], y), rel=1e-10)  # every subset is the full sets
    assert std == pytest.approx(0.0, abs=1e-12)
    assert kernel_inception_distance(x, y, n_subsets=5, seed=7) == kernel_inception_distance(x, y, n_subsets=5, seed=7)


def test_kid_error_names_the_shapes_of_mismatched_features():
    with pytest.raises(ValueError, match=r"\(10, 4\).*\(10, 5\)"):
        kernel_inception_distance(np.zeros((10, 4)), np.zeros((10, 5)))


# ---------------------------------------------------------------- class accuracy


def test_class_accuracy_from_labels_and_from_probabilities():
    intended = np.array([0, 1, 2, 1])
    assert class_accuracy(np.array([0, 1, 1, 1]), intended) == pytest.approx(0.75)
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    assert class_accuracy(probs, intended) == pytest.approx(0.5)


def test_class_accuracy_error_names_the_shapes_of_different_lengths():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        class_accuracy(np.array([0, 1, 1]), np.array([0, 1, 2, 1]))
