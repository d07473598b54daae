"""``evaluate``: which metrics a run gets, and that each is the metric it claims to be."""
import json
import math
import os

import numpy as np
import pytest
import scipy.stats

import minigen as mg
from minigen import data, metrics
from minigen.train import evaluation as evaluate_module
from minigen.train import evaluate, load_run, sampling, train


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "g")
    train("gaussian", data="ring8", steps=150, out=out, progress=False)
    return out


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "d")
    train("gaussian", data="digits", steps=20, out=out, progress=False)
    return out


def test_toy_metrics_are_mode_coverage_likelihood_and_speed(toy_run):
    result = evaluate(toy_run, n=500)
    for key in ("modes_covered", "num_modes", "hq_fraction", "sliced_wasserstein", "nll_nats",
                "bits_per_dim", "samples_per_second", "train_seconds"):
        assert key in result, key
    assert result["num_modes"] == 8 and result["n"] == 500
    with open(os.path.join(toy_run, "metrics.json")) as f:
        assert json.load(f) == result


def test_toy_metrics_are_computed_on_the_run_samples_and_the_test_split(toy_run):
    result = evaluate(toy_run, n=400, seed=2, write=False)
    model, _ = load_run(toy_run)
    with sampling(model, seed=2):
        samples = model.sample(400)
    test = data.load("ring8", "test")
    coverage = metrics.mode_coverage(samples, test.centers, test.sigma)
    assert result["modes_covered"] == coverage["modes_covered"]
    assert result["hq_fraction"] == coverage["hq_fraction"]
    assert result["sliced_wasserstein"] == pytest.approx(
        metrics.sliced_wasserstein(samples, test.x, seed=2), rel=1e-12)
    cov = model.covariance().astype(np.float64)
    nll = -scipy.stats.multivariate_normal(model.mu.numpy(), cov).logpdf(test.x).mean()
    assert result["nll_nats"] == pytest.approx(nll, rel=1e-5)
    assert result["bits_per_dim"] == pytest.approx(nll / (2 * math.log(2)), rel=1e-5)


def test_a_continuous_model_on_images_gets_the_dequantized_bound(image_run):
    model, _ = load_run(image_run)
    test = data.load("digits", "test")
    got = evaluate_module.likelihood_metrics(model, test, "cpu", seed=4)
    width = 2.0 / 16
    u = np.random.default_rng(4).uniform(-width / 2, width / 2, size=test.x.shape)
    x = (test.x + u).astype(np.float32).reshape(len(test), 64).astype(np.float64)
    density = scipy.stats.multivariate_normal(model.mu.numpy(),
                                              model.covariance().astype(np.float64))
    expected = -density.logpdf(x).mean() - 64 * math.log(width)
    assert got["nll_nats"] == pytest.approx(expected, rel=1e-5)
    assert got["bits_per_dim"] == pytest.approx(expected / (64 * math.log(2)), rel=1e-5)
    assert 0 < got["bits_per_dim"] < math.log2(17) + 1


def test_image_metrics_are_skipped_with_a_note_when_there_is_no_classifier(image_run, monkeypatch):
    monkeypatch.setattr(evaluate_module, "find_classifier", lambda name: None)
    result = evaluate(image_run, n=50, write=False)
    assert "fid" not in result and "skipped" in result["notes"][0]
    assert {"nll_nats", "bits_per_dim", "samples_per_second", "train_seconds"} <= set(result)


class PixelClassifier:
    """A stand-in feature network: pixels as features, a fixed linear softmax as class probs."""

    def __init__(self):
        self.weights = np.random.default_rng(0).normal(size=(64, 10))

    def features(self, x):
        return np.asarray(x, np.float64).reshape(len(x), -1)

    def class_probs(self, x):
        logits = self.features(x) @ self.weights
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def test_image_metrics_use_the_dataset_classifier_when_it_exists(image_run, monkeypatch):
    classifier = PixelClassifier()
    monkeypatch.setattr(evaluate_module, "find_classifier", lambda name: classifier)
    result = evaluate(image_run, n=60, seed=1, write=False)
    model, _ = load_run(image_run)
    with sampling(model, seed=1):
        samples = model.sample(60)
    test, train_split = data.load("digits", "test"), data.load("digits", "train")
    real, fake = classifier.features(test.x), classifier.features(samples)
    assert result["fid"] == pytest.approx(metrics.fid_from_features(real, fake), rel=1e-9)
    floor = metrics.fid_from_features(classifier.features(train_split.x[:60]), real)  # n real
    assert result["fid_floor"] == pytest.approx(floor, rel=1e-9)
    assert result["kid"] == pytest.approx(metrics.kernel_inception_distance(real, fake)[0])
    assert result["inception_score"] == pytest.approx(
        metrics.inception_score(classifier.class_probs(samples))[0])
    assert (result["precision"], result["recall"]) == metrics.precision_recall(real, fake)
    assert "class_accuracy" not in result          # the Gaussian is unconditional


def test_evaluating_with_another_dataset_of_the_wrong_shape_is_a_run_error(toy_run):
    with pytest.raises(evaluate_module.RunError, match=r"shape \(2,\).*\(1, 8, 8\)"):
        evaluate(toy_run, n=10, data="digits", write=False)


def test_evaluate_draws_reproducible_samples_without_touching_the_global_stream(toy_run):
    mg.manual_seed(11)
    state = mg.get_rng_state()
    a = evaluate(toy_run, n=100, seed=5, write=False)
    assert mg.get_rng_state() == state
    b = evaluate(toy_run, n=100, seed=5, write=False)
    assert {k: v for k, v in a.items() if k != "samples_per_second"} == \
        {k: v for k, v in b.items() if k != "samples_per_second"}
