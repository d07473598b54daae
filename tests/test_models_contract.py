"""The model contract over the whole registry: what each model declares is what it implements, and
every registered model trains, checkpoints, resumes bit-exactly, samples / translates / classifies
and evaluates through the product, on its smallest dataset. A newly registered model is covered
here the moment its file lands in minigen/models/."""
import os

import numpy as np
import pytest

import minigen as mg
from minigen import data, models, nn
from minigen.models import (ClassifierModel, GenerativeModel, LatentVariableModel,
                            LikelihoodModel, SamplingModel, TranslationModel, check_declared)
from minigen.train import figures, load_checkpoint, load_run, train
from test_cli import run_cli
from test_train_resume import assert_same_state, comparable

# Tried in this order; a model runs on the first one its factory accepts.
SMALLEST = ["digits", "digits-binary", "ring8", "mnist5k-inverted", "mnistm5k"]


def smallest_dataset(name):
    """(dataset name, model) of the first SMALLEST dataset model ``name`` can be built for."""
    refusals = []
    for dataset in SMALLEST:
        try:
            return dataset, models.create(name, dataset)
        except ValueError as exc:
            refusals.append(f"{dataset}: {exc}")
    raise AssertionError(f"model {name!r} can be built on none of {SMALLEST}: {refusals}")


@pytest.mark.parametrize("name", models.names())
def test_every_registered_model_declares_what_it_implements(name):
    _, model = smallest_dataset(name)
    assert isinstance(model, GenerativeModel) and isinstance(model, nn.Module), name
    check_declared(model)
    assert models.capabilities(model), f"{name} declares no capability"


class Declares(SamplingModel, GenerativeModel):
    """Declares sampling but never writes sample()."""


class Hides(GenerativeModel):
    """Writes log_prob() without declaring LikelihoodModel: the evaluator would never see it."""

    def log_prob(self, x):
        return x.sum(dim=1)


class HalfAdversarial(GenerativeModel):
    pass


def test_check_declared_names_a_missing_method_and_an_undeclared_one():
    with pytest.raises(TypeError, match="declares SamplingModel but does not implement sample"):
        check_declared(Declares())
    with pytest.raises(TypeError, match="implements log_prob but does not declare "
                                        "LikelihoodModel"):
        check_declared(Hides())
    with pytest.raises(TypeError, match="is not a GenerativeModel"):
        check_declared(nn.Linear(2, 2))


def test_an_adversarial_model_averages_its_generator():
    class Pair(models.AdversarialModel, GenerativeModel):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = nn.Linear(2, 2), nn.Linear(2, 1)
    pair = Pair()
    check_declared(pair)
    assert pair.ema_module() is pair.generator
    with pytest.raises(TypeError, match="generator, discriminator"):
        check_declared(type("Broken", (models.AdversarialModel, GenerativeModel), {})())


# ----------------------------------------------------------------------- the end-to-end sweep

def _figures_of(model):
    expected = set()
    if isinstance(model, SamplingModel):
        expected.add("samples.png")
    if isinstance(model, TranslationModel):
        expected.add("translations.png")
    if isinstance(model, LatentVariableModel):
        expected.add("reconstructions.png")
    return expected


@pytest.mark.parametrize("name", models.names())
def test_every_registered_model_trains_resumes_bit_exactly_and_evaluates(name, tmp_path, capsys,
                                                                        monkeypatch):
    # samples.png of 4 examples (the picture itself is tested in test_train_outputs.py)
    spec = figures.sample_batch_spec
    monkeypatch.setattr(figures, "sample_batch_spec",
                        lambda model, dataset: _small(spec(model, dataset)))
    dataset, model = smallest_dataset(name)
    kwargs = dict(data=dataset, steps=3, checkpoint_every=1, progress=False)
    straight = train(name, out=str(tmp_path / "a"), **kwargs)
    assert straight["finished"] and straight["step"] == 3
    stopped = train(name, out=str(tmp_path / "b"), on_step=lambda step, losses: step == 2,
                    **kwargs)
    assert not stopped["finished"] and stopped["step"] == 2
    train(name, out=str(tmp_path / "b"), resume=True, progress=False)
    a, b = (load_checkpoint(str(tmp_path / r / "checkpoint.npz")) for r in "ab")
    assert_same_state(comparable(a), comparable(b))

    run = str(tmp_path / "a")
    assert _figures_of(model) <= set(os.listdir(run)), sorted(os.listdir(run))
    trained, config = load_run(run)
    if isinstance(trained, SamplingModel):
        status, out, err = run_cli(capsys, "sample", run, "--n", "4", "--quiet",
                                   "--out", str(tmp_path / "s.png"))
        assert status == 0 and os.path.isfile(tmp_path / "s.png"), err
    if isinstance(trained, TranslationModel):
        status, out, err = run_cli(capsys, "sample", run, "--out", str(tmp_path / "t"))
        assert status == 0 and os.path.isfile(tmp_path / "t" / "translations.png"), err
    if isinstance(trained, ClassifierModel):
        test = data.load(config["data"], "test", n=8)
        with mg.no_grad():
            labels = mg.backend.to_numpy(trained.predict(mg.tensor(test.x)))
        assert labels.shape == (8,) and labels.dtype == np.int64
    status, out, err = run_cli(capsys, "evaluate", run, "--n", "8", "--iwae-k", "2", "--quiet")
    assert status == 0, err
    result = load_metrics(run)
    expected = {"train_seconds", "settings"}
    if isinstance(trained, SamplingModel):
        expected |= {"samples_per_second", "sampler"}
    if isinstance(trained, (LikelihoodModel, LatentVariableModel)):
        expected |= {"nll_nats", "bits_per_dim"}
    if isinstance(trained, LatentVariableModel):
        expected |= {"elbo", "iwae"}
    assert expected <= set(result), sorted(result)


def _small(spec):
    n, labels = spec
    return (4, None) if labels is None else (4, labels[::max(1, len(labels) // 4)][:4])


def load_metrics(run):
    import json
    with open(os.path.join(run, "metrics.json")) as f:
        return json.load(f)
