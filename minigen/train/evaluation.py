"""``evaluate()``: the metrics of a trained run, chosen by what the model and the data are.

    samples_per_second, train_seconds     always
    modes_covered, num_modes, hq_fraction ring8 / grid25 (mode_coverage with the data's centres)
    sliced_wasserstein                    2-D data: samples against the test split
    nll_nats, bits_per_dim                models with log_prob(x), on the test split
    elbo                                  models with elbo(x) (VAE), on the test split (nats)
    fid, kid, inception_score, precision, recall, fid_floor, class_accuracy (conditional models)
                                          image data, when a feature classifier for the dataset
                                          exists (minigen/metrics/classifier.py)
    anything a model adds with extra_metrics(test_dataset)

Likelihoods are in nats per example; bits_per_dim = nll_nats / (D ln 2). A ``continuous`` model
(a density over real values, like the Gaussian baseline) on discrete images is scored with uniform
dequantization: -log P(k) <= -E_u log p(x + u) - D log w, u ~ U(-w/2, w/2), w the level spacing,
so its numbers read on the same scale as PixelCNN's exact discrete likelihoods.
"""
import importlib
import math
import os
import time

import numpy as np

import minigen as mg
from minigen import backend
from minigen import data as datasets
from .run import METRICS, RunError, load_run, write_json
from .trainer import sampling

EVAL_BATCH = 500


def default_n(dataset):
    return 1000 if dataset.is_image else 2000


def _batched(fn, x, device):
    """fn applied to ``x`` in chunks, without gradients; a NumPy float64 array of the results."""
    out = []
    with mg.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            value = fn(mg.tensor(x[start:start + EVAL_BATCH], device=device))
            out.append(backend.to_numpy(value.data if hasattr(value, "data") else value))
    return np.concatenate(out).astype(np.float64)


def draw_samples(model, n, labels=None, seed=0, device="cpu", **options):
    """(samples as a NumPy array, samples per second), drawn in chunks of EVAL_BATCH."""
    chunks = []
    start = time.perf_counter()
    with sampling(model, seed=seed):
        for first in range(0, n, EVAL_BATCH):
            m = min(EVAL_BATCH, n - first)
            y = None if labels is None else mg.tensor(labels[first:first + m], device=device)
            chunks.append(backend.to_numpy(model.sample(m, y=y, **options)))
    seconds = time.perf_counter() - start
    return np.concatenate(chunks), n / max(seconds, 1e-9)


def likelihood_metrics(model, test, device, seed=0):
    """nll_nats and bits_per_dim of the test split (dequantized bound for continuous models)."""
    x = test.x
    dim = int(np.prod(test.shape))
    offset = 0.0
    if getattr(model, "continuous", False) and test.levels is not None:
        width = 2.0 / (test.levels - 1)
        noise = np.random.default_rng(seed).uniform(-width / 2, width / 2, size=x.shape)
        x = (x + noise).astype(x.dtype)
        offset = -dim * math.log(width)
    nll = -float(np.mean(_batched(model.log_prob, x, device))) + offset
    return {"nll_nats": nll, "bits_per_dim": nll / (dim * math.log(2))}


def find_classifier(dataset_name):
    """The feature classifier of ``dataset_name`` from minigen.metrics.classifier, or None.

    Expected plug: ``classifier.for_dataset(name)`` returns an object with ``features(x)`` ->
    (N, F) and ``class_probs(x)`` -> (N, K) NumPy arrays for images x in [-1, 1], or None when
    the dataset has no classifier.
    """
    try:
        module = importlib.import_module("minigen.metrics.classifier")
    except ImportError:
        return None
    finder = getattr(module, "for_dataset", None)
    return finder(dataset_name) if finder is not None else None


def image_metrics(samples, labels, train, test, classifier):
    """FID/KID/IS/precision/recall of samples against the test split, and the class accuracy of
    conditional samples. The FID floor is the FID of as many real train images as there are
    samples against the same test split: what a perfect generator would score with these sample
    sizes (FID is biased upwards for small samples, so the floor must share them)."""
    from minigen import metrics     # here, not at the top: scipy is slow to import
    real = classifier.features(test.x)
    fake = classifier.features(samples)
    out = {"fid": metrics.fid_from_features(real, fake),
           "fid_floor": metrics.fid_from_features(classifier.features(train.x[:len(samples)]), real)}
    kid_mean, kid_std = metrics.kernel_inception_distance(real, fake)
    out.update(kid=kid_mean, kid_std=kid_std)
    probs = classifier.class_probs(samples)
    is_mean, is_std = metrics.inception_score(probs, splits=min(10, len(samples)))
    out.update(inception_score=is_mean, inception_score_std=is_std)
    out["precision"], out["recall"] = metrics.precision_recall(real, fake)
    if labels is not None:
        out["class_accuracy"] = metrics.class_accuracy(probs, labels)
    return out


def evaluate(run_dir, n=None, data=None, device="cpu", seed=0, write=True, sample_options=None):
    """The metrics of the run in ``run_dir`` as a dict, also written to DIR/metrics.json.

    ``sample_options`` go to the model's ``sample`` (e.g. DDPM's ``{"steps": 50}`` for DDIM-50)
    and are recorded in the result, since they change what the sample metrics measure.
    """
    model, config = load_run(run_dir, device=device)
    return evaluate_model(model, config, run_dir, n, data, device, seed, write, sample_options)


def evaluate_model(model, config, run_dir, n=None, data=None, device="cpu", seed=0, write=True,
                   sample_options=None):
    """``evaluate`` for a model already loaded from ``run_dir`` (with its config)."""
    from minigen import metrics
    sample_options = dict(sample_options or {})
    name = data or config["data"]
    try:
        test, train = datasets.load(name, "test"), datasets.load(name, "train")
    except (ValueError, OSError) as exc:
        raise RunError(f"cannot load dataset {name!r}: {exc}") from None
    n = default_n(test) if n is None else int(n)
    if n < 2:
        raise RunError(f"--n must be at least 2 to compute metrics, got {n}")
    conditional = getattr(model, "conditional", False) and test.num_classes > 0
    labels = np.arange(n, dtype=np.int64) % test.num_classes if conditional else None
    samples, per_second = draw_samples(model, n, labels, seed=seed, device=device,
                                       **sample_options)
    if samples.shape[1:] != test.shape:
        raise RunError(f"the model draws samples of shape {samples.shape[1:]}, but dataset "
                       f"{name!r} has examples of shape {test.shape}")

    result = {"model": config["model"], "data": name, "n": n, "step": config.get("step")}
    if sample_options:
        result["sample_options"] = sample_options
    notes = []
    if test.centers is not None:
        coverage = metrics.mode_coverage(samples, test.centers, test.sigma)
        result.update({k: coverage[k] for k in ("modes_covered", "num_modes", "hq_fraction")})
    if not test.is_image:
        result["sliced_wasserstein"] = metrics.sliced_wasserstein(samples, test.x, seed=seed)
    if hasattr(model, "log_prob"):
        result.update(likelihood_metrics(model, test, device, seed=seed))
    if hasattr(model, "elbo"):
        result["elbo"] = float(np.mean(_batched(model.elbo, test.x, device)))
    if test.is_image:
        classifier = find_classifier(name)
        if classifier is None:
            notes.append(f"image metrics (fid, kid, inception_score, precision, recall) skipped: "
                         f"no feature classifier for {name!r} in minigen.metrics.classifier")
        else:
            result.update(image_metrics(samples, labels, train, test, classifier))
    if hasattr(model, "extra_metrics"):
        with mg.no_grad():
            result.update(model.extra_metrics(test))
    result["samples_per_second"] = per_second
    result["train_seconds"] = config.get("train_seconds")
    if notes:
        result["notes"] = notes
    if write:
        write_json(os.path.join(run_dir, METRICS), result)
    return result
