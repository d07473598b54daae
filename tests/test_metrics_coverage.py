"""Specification of precision/recall and toy mode coverage in minigen.metrics."""

import json

import numpy as np
import pytest

from minigen.metrics import mode_coverage, precision_recall

# ---------------------------------------------------------------- precision and recall


def test_precision_and_recall_of_identical_sets_are_one():
    x = np.random.default_rng(0).standard_normal((200, 5))
    assert precision_recall(x, x.copy()) == (1.0, 1.0)


def test_precision_and_recall_of_far_apart_sets_are_zero():
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((100, 3)), rng.standard_normal((120, 3)) + 100.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_precision_recall_match_a_hand_computed_example():
    # k = 1: real radii are all 1; fake radii are 4.5 (for 0.5) and 0.5 (for 5 and 5.5).
    real = np.array([0.0, 1.0, 2.0, 3.0])
    fake = np.array([0.5, 5.0, 5.5])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == pytest.approx(1 / 3)  # only 0.5 lies in a real ball
    assert recall == pytest.approx(1.0)  # all reals lie within 4.5 of 0.5


def test_a_sample_exactly_on_a_k_nn_sphere_counts_as_inside():
    # The balls are closed: 4.0 is exactly 1 (the k = 1 radius) from the real point 3.0.
    precision, _ = precision_recall(np.array([0.0, 1.0, 2.0, 3.0]), np.array([4.0, 10.0, 11.0]), k=1)
    assert precision == pytest.approx(1 / 3)


def test_mode_collapse_keeps_precision_but_loses_recall():
    rng = np.random.default_rng(2)
    real = np.concatenate([rng.normal(-5, 0.5, (150, 2)), rng.normal(5, 0.5, (150, 2))])
    collapsed = rng.normal(5, 0.5, (300, 2))
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.9
    assert 0.4 < recall < 0.6


def test_precision_recall_do_not_depend_on_the_batch_size():
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((90, 4)), rng.standard_normal((70, 4)) * 1.5
    assert precision_recall(real, fake, batch_size=7) == precision_recall(real, fake, batch_size=1000)


def test_precision_recall_reject_too_few_samples_and_mismatched_dimensions():
    with pytest.raises(ValueError, match=r"at least 4 samples.*\(3, 2\)"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"\(10, 2\).*\(10, 3\)"):
        precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))


# ---------------------------------------------------------------- mode coverage of the toys

RING8_CENTERS = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)
GRID25_CENTERS = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=float)


def _mixture_samples(centers, sigma, n, seed):
    rng = np.random.default_rng(seed)
    return centers[rng.integers(len(centers), size=n)] + sigma * rng.standard_normal((n, 2))


@pytest.mark.parametrize("centers, sigma", [(RING8_CENTERS, 0.02), (GRID25_CENTERS, 0.05)])
def test_exact_toy_samples_cover_every_mode_with_high_quality(centers, sigma):
    result = mode_coverage(_mixture_samples(centers, sigma, 2500, seed=0), centers, sigma)
    assert result["modes_covered"] == len(centers) == result["num_modes"]
    # P(||x - mu|| <= 3 sigma) for a 2-D isotropic Gaussian is 1 - exp(-9/2) = 0.989.
    assert result["hq_fraction"] == pytest.approx(1 - np.exp(-4.5), abs=0.01)
    assert sum(result["mode_counts"]) == round(result["hq_fraction"] * 2500)
    assert json.loads(json.dumps(result)) == result  # plain values, ready for metrics.json


def test_a_collapsed_sampler_covers_one_mode():
    samples = RING8_CENTERS[3] + 0.02 * np.random.default_rng(1).standard_normal((2500, 2))
    result = mode_coverage(samples, RING8_CENTERS, 0.02)
    assert result["modes_covered"] == 1
    assert result["mode_counts"][3] == sum(result["mode_counts"]) > 2400


def test_samples_between_modes_are_low_quality_and_cover_nothing():
    samples = np.zeros((100, 2))  # the centre of the ring is 2 away from every mode
    result = mode_coverage(samples, RING8_CENTERS, 0.02)
    assert result["hq_fraction"] == 0.0
    assert result["modes_covered"] == 0


def test_a_mode_counts_once_it_has_min_count_high_quality_samples():
    samples = np.concatenate([np.tile(GRID25_CENTERS[0], (10, 1)), GRID25_CENTERS[1:2] + 0.01])
    assert mode_coverage(samples, GRID25_CENTERS, 0.05, min_count=1)["modes_covered"] == 2
    assert mode_coverage(samples, GRID25_CENTERS, 0.05, min_count=5)["modes_covered"] == 1


def test_by_default_a_mode_needs_a_fifth_of_its_fair_share_so_stray_samples_do_not_cover_it():
    # 2,500 samples over 25 modes: a fair share is 100, the default bar 20
    rng = np.random.default_rng(2)
    samples = GRID25_CENTERS[rng.integers(0, 5, 2500)] + 0.05 * rng.standard_normal((2500, 2))
    samples[:5 * 19] = np.repeat(GRID25_CENTERS[5:10], 19, axis=0)  # 19 samples: below the bar
    result = mode_coverage(samples, GRID25_CENTERS, 0.05)
    assert result["min_count"] == 20
    assert result["modes_covered"] == 5
    assert mode_coverage(samples, GRID25_CENTERS, 0.05, min_count=1)["modes_covered"] == 10


def test_mode_coverage_error_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(8, 2\)"):
        mode_coverage(np.zeros((5, 3)), RING8_CENTERS, 0.02)
