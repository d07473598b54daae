"""``evaluate()``: the metrics of a trained run, chosen by what the model declares and the data are.

    every model            train_seconds, and what its extra_metrics(test) adds (cycle_error,
                           target_accuracy ... of CycleGAN and DANN; a ClassifierModel's accuracies)
    SamplingModel          samples_per_second; drawn with the model's fast sampler (sample_defaults,
                           DDPM: DDIM-50 with eta = 1) unless told otherwise; recorded as "sampler"
      2-D data             sliced_wasserstein against the test split; ring8 / grid25 also
                           modes_covered, num_modes, hq_fraction (mode_coverage with the centres)
      image data           fid, kid, inception_score, precision, recall, fid_floor and, for a
                           conditional model, class_accuracy, when a feature classifier for the
                           dataset exists (minigen/metrics/classifier.py)
    LikelihoodModel        nll_nats, bits_per_dim on the test split
    LatentVariableModel    elbo, iwae (k importance samples, default IWAE_K) on the test split;
                           nll_nats = -iwae and bits_per_dim from it unless the model also has an
                           exact likelihood

Likelihoods are in nats per example; bits_per_dim = nll_nats / (D ln 2). A ``continuous`` model
(a density over real values, like the Gaussian baseline) on discrete images is scored with uniform
dequantization: -log P(k) <= -E_u log p(x + u) - D log w, u ~ U(-w/2, w/2), w the level spacing,
so its numbers read on the same scale as PixelCNN's exact discrete likelihoods.

metrics.json holds the latest result; when it held one measured with other settings (another n,
sampler, dataset, seed, k or checkpoint), that one is first moved to metrics-SETTINGS.json, and
``evaluate`` says so in the result's "replaced" entry.
"""
import json
import math
import os
import re
import time

import numpy as np

import minigen as mg
from minigen import backend
from minigen import data as datasets
from minigen.models import LatentVariableModel, LikelihoodModel, SamplingModel
from .figures import sampler_options
from .run import METRICS, RunError, load_run, write_json
from .trainer import EVAL_BATCH, sampling

IWAE_K = 1000    # importance samples of the IWAE bound (ARCHITECTURE: nll_nats = -iwae_1000)


def default_n(dataset):
    return 1000 if dataset.is_image else 2000


def _batched(fn, x, device):
    """fn applied to ``x`` in chunks, without gradients; a NumPy float64 array of the results."""
    out = []
    with mg.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            value = fn(mg.tensor(x[start:start + EVAL_BATCH], device=device))
            out.append(backend.to_numpy(value.data if isinstance(value, mg.Tensor) else value))
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
    if model.continuous and test.levels is not None:
        width = 2.0 / (test.levels - 1)
        noise = np.random.default_rng(seed).uniform(-width / 2, width / 2, size=x.shape)
        x = (x + noise).astype(x.dtype)
        offset = -dim * math.log(width)
    nll = -float(np.mean(_batched(model.log_prob, x, device))) + offset
    return {"nll_nats": nll, "bits_per_dim": nll / (dim * math.log(2))}


def bound_metrics(model, test, device, seed=0, k=IWAE_K):
    """elbo and iwae (k samples) of the test split in nats per example, under a private seed."""
    with sampling(model, seed=seed):
        elbo = float(np.mean(_batched(model.elbo, test.x, device)))
        iwae = float(np.mean(_batched(lambda x: model.iwae(x, k), test.x, device)))
    return {"elbo": elbo, "iwae": iwae, "iwae_k": k}


def find_classifier(dataset_name):
    """The feature classifier of ``dataset_name`` (features(x), class_probs(x)), or None."""
    from minigen.metrics.classifier import for_dataset     # here: scipy is slow to import
    return for_dataset(dataset_name)


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


def evaluate(run_dir, n=None, data=None, device="cpu", seed=0, write=True, sample_options=None,
             plain_sampler=False, iwae_k=None, checkpoint=None):
    """The metrics of the run in ``run_dir`` as a dict, also written to DIR/metrics.json.

    ``sample_options`` go to the model's ``sample`` on top of its fast sampler's (e.g. DDPM's
    ``{"steps": 1000}``); ``plain_sampler`` drops the fast sampler's (DDPM: the full ancestral
    chain). ``checkpoint``: 'best', 'last' or None (see load_run). What was used is recorded.
    """
    model, config = load_run(run_dir, device=device, checkpoint=checkpoint)
    return evaluate_model(model, config, run_dir, n, data, device, seed, write, sample_options,
                          plain_sampler, iwae_k)


def evaluate_model(model, config, run_dir, n=None, data=None, device="cpu", seed=0, write=True,
                   sample_options=None, plain_sampler=False, iwae_k=None):
    """``evaluate`` for a model already loaded from ``run_dir`` (with its config)."""
    from minigen import metrics
    name = data or config["data"]
    try:
        test, train = datasets.load(name, "test"), datasets.load(name, "train")
    except (ValueError, OSError) as exc:
        raise RunError(f"cannot load dataset {name!r}: {exc}") from None
    n = default_n(test) if n is None else n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise RunError(f"--n must be an integer of at least 2 to compute metrics, got {n!r}")
    k = IWAE_K if iwae_k is None else iwae_k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RunError(f"--iwae-k must be an integer of at least 1, got {k!r}")
    result = {"model": config["model"], "data": name, "step": config.get("step")}
    settings = {"n": int(n), "data": name, "seed": seed}
    if "checkpoint" in config:
        result["checkpoint"] = config["checkpoint"]
        settings["checkpoint"] = config["checkpoint"]["file"]
    notes = []
    if isinstance(model, SamplingModel):
        options = sampler_options(model, sample_options, plain_sampler)
        result.update(n=int(n), sampler=model.describe_sampler(**options))
        if options:
            result["sample_options"] = options
        settings["sample_options"] = options
        conditional = model.conditional and test.num_classes > 0
        labels = np.arange(n, dtype=np.int64) % test.num_classes if conditional else None
        samples, per_second = draw_samples(model, int(n), labels, seed=seed, device=device,
                                           **options)
        if samples.shape[1:] != test.shape:
            raise RunError(f"the model draws samples of shape {samples.shape[1:]}, but dataset "
                           f"{name!r} has examples of shape {test.shape}")
        if test.centers is not None:
            coverage = metrics.mode_coverage(samples, test.centers, test.sigma)
            result.update({k: coverage[k] for k in ("modes_covered", "num_modes", "hq_fraction")})
        if not test.is_image:
            result["sliced_wasserstein"] = metrics.sliced_wasserstein(samples, test.x, seed=seed)
        if test.is_image:
            classifier = find_classifier(name)
            if classifier is None:
                notes.append(f"image metrics (fid, kid, inception_score, precision, recall) "
                             f"skipped: no feature classifier for {name!r} in "
                             f"minigen.metrics.classifier")
            else:
                result.update(image_metrics(samples, labels, train, test, classifier))
        result["samples_per_second"] = per_second
    if isinstance(model, LikelihoodModel):
        result.update(likelihood_metrics(model, test, device, seed=seed))
    if isinstance(model, LatentVariableModel):
        result.update(bound_metrics(model, test, device, seed=seed, k=int(k)))
        settings["iwae_k"] = int(k)
        if not isinstance(model, LikelihoodModel):
            dim = int(np.prod(test.shape))
            result.update(nll_nats=-result["iwae"],
                          bits_per_dim=-result["iwae"] / (dim * math.log(2)))
    with sampling(model, seed=seed):
        result.update(model.extra_metrics(test))
    result["train_seconds"] = config.get("train_seconds")
    result["settings"] = settings
    if notes:
        result["notes"] = notes
    if write:
        replaced = keep_other_settings(run_dir, settings)
        if replaced:
            result["replaced"] = replaced
        write_json(os.path.join(run_dir, METRICS), result)
    return result


def settings_tag(settings):
    """A file-name tag of the settings: n1000-datadigits-seed0-steps50-eta1.0 ..."""
    flat = {k: v for k, v in settings.items() if k != "sample_options"}
    flat.update(settings.get("sample_options") or {})
    text = "-".join(f"{k.replace('_', '')}{v}" for k, v in flat.items())
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)


def keep_other_settings(run_dir, settings):
    """Move DIR/metrics.json aside to metrics-TAG.json when it was measured with other settings;
    returns a sentence saying so (None when there was nothing to keep)."""
    path = os.path.join(run_dir, METRICS)
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return None
    old_settings = old.get("settings") if isinstance(old, dict) else None
    if old_settings == settings:
        return None
    if old_settings is None:                 # written before settings were recorded
        old_settings = {"n": old.get("n"), "data": old.get("data")}
    kept = os.path.join(run_dir, f"metrics-{settings_tag(old_settings)}.json")
    os.replace(path, kept)
    return (f"metrics.json measured with other settings ({settings_tag(old_settings)}) was "
            f"moved to {os.path.basename(kept)}")
