"""Validation while training and models that grow in stages: both declared on the model
(minigen/models/base.py), both carried through checkpoints so that a resumed run is bit-exact."""
import json
import os

import numpy as np
import pytest

import minigen as mg
from minigen import data, models, nn, optim
from minigen.models import GenerativeModel, GrowingModel, LikelihoodModel, SamplingModel
from minigen.train import Trainer, load_checkpoint, load_run, read_config, train
from minigen.train.trainer import split_validation
from test_train_resume import assert_same_state, comparable


class Overfitter(LikelihoodModel, SamplingModel, GenerativeModel):
    """A diagonal Gaussian over 2-D points whose validation measure is the held-out NLL; with a
    huge learning rate late in training it gets worse, so the best step is not the last."""

    validation_fraction = 0.25

    def __init__(self, dataset):
        super().__init__()
        self.mu = nn.Parameter(np.full(2, 3.0, np.float32))
        self.log_sigma = nn.Parameter(np.zeros(2, np.float32))

    def log_prob(self, x):
        z = (x - self.mu) / self.log_sigma.exp()
        return (-0.5 * z * z - self.log_sigma - 0.9189385).sum(dim=1)

    def loss(self, x, y=None):
        return -self.log_prob(x + 0.01 * mg.randn(*x.shape)).mean()

    def configure_schedulers(self, optimizers, steps):
        # lr x 30 after step 12: the fit breaks up, validation rises again
        return {"model": optim.lr_scheduler.LambdaLR(optimizers["model"],
                                                     lambda s: 1.0 if s < 12 else 30.0)}

    def sample(self, n, y=None):
        return (self.mu + self.log_sigma.exp() * mg.randn(n, 2)).data


@pytest.fixture
def overfitter(monkeypatch):
    entry = models.Entry("overfitter-test", lambda ds: Overfitter(ds), "a test model", {},
                         {"steps": 30, "batch_size": 64, "lr": 0.1})
    monkeypatch.setitem(models._REGISTRY, "overfitter-test", entry)
    return "overfitter-test"


def test_the_held_out_part_comes_from_the_train_split_and_is_never_trained_on():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20)
    (train_x, train_y), (held_x, held_y) = split_validation((x, y), 0.25, seed=0)
    assert len(held_y) == 5 and len(train_y) == 15
    assert set(held_y).isdisjoint(train_y) and set(held_y) | set(train_y) == set(range(20))
    np.testing.assert_array_equal(held_x, x[held_y])
    assert split_validation((x, y), 0.0, seed=0) == ((x, y), None)
    with pytest.raises(ValueError, match="validation_fraction must be in"):
        split_validation((x, y), 1.5, seed=0)


def test_validation_is_logged_drawn_and_the_best_checkpoint_kept(overfitter, tmp_path):
    out = str(tmp_path / "v")
    summary = train(overfitter, data="ring8", out=out, validate_every=3, progress=False)
    history = load_checkpoint(os.path.join(out, "checkpoint.npz"))["validation"]
    np.testing.assert_array_equal(history["step"], np.arange(3, 31, 3))
    best_step = int(history["step"][np.argmin(history["value"])])
    assert summary["best"]["step"] == best_step < 30
    best = load_checkpoint(os.path.join(out, "checkpoint_best.npz"))
    assert int(best["step"]) == best_step
    assert read_config(out)["best"]["step"] == best_step
    # sample and evaluate use the best checkpoint by default, the last one on request
    model, config = load_run(out)
    assert config["checkpoint"] == {"file": "checkpoint_best.npz", "step": best_step}
    np.testing.assert_array_equal(model.mu.numpy(), best["model"]["mu"].numpy())
    _, last = load_run(out, checkpoint="last")
    assert last["checkpoint"]["step"] == 30


def test_validation_does_not_disturb_training_and_resumes_bit_exactly(overfitter, tmp_path):
    kwargs = dict(data="ring8", validate_every=4, checkpoint_every=5, progress=False)
    train(overfitter, out=str(tmp_path / "a"), **kwargs)
    train(overfitter, out=str(tmp_path / "b"), on_step=lambda step, losses: step == 13, **kwargs)
    train(overfitter, out=str(tmp_path / "b"), resume=True, progress=False, validate_every=4)
    for name in ("checkpoint.npz", "checkpoint_best.npz"):
        a, b = (load_checkpoint(str(tmp_path / r / name)) for r in "ab")
        assert_same_state(comparable(a), comparable(b))
    # the same run without validation takes exactly the same training steps
    quiet = Trainer(Overfitter(None), data.load("ring8"), 64, 0.1, seed=0, steps=30)
    loud = Trainer(Overfitter(None), data.load("ring8"), 64, 0.1, seed=0, steps=30)
    quiet.validation_arrays = None
    mg.manual_seed(0)
    quiet.fit(10, progress=False)
    mg.manual_seed(0)
    loud.fit(10, progress=False, validate_every=1)
    assert len(loud.validation["step"]) == 10
    np.testing.assert_array_equal(quiet.model.mu.numpy(), loud.model.mu.numpy())


def test_a_model_without_a_validation_measure_has_no_best_checkpoint(tmp_path):
    out = str(tmp_path / "g")
    train("gaussian", data="ring8", steps=5, out=out, progress=False)
    assert not os.path.exists(os.path.join(out, "checkpoint_best.npz"))
    with pytest.raises(Exception, match="no checkpoint_best.npz"):
        load_run(out, checkpoint="best")


# ------------------------------------------------------------------------------ growing models

class Toy(GrowingModel, SamplingModel, GenerativeModel):
    """Grows one linear layer per stage (stages at steps 4 and 9); the batch doubles each stage;
    the generator's EMA covers the new layers too."""

    ema_decay = 0.8

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(2, 2)])
        self.seen = []

    def stage_at(self, step):
        return 0 if step < 4 else 1 if step < 9 else 2

    def grow(self, stage):
        self.blocks.append(nn.Linear(2, 2))

    def stage_batch_size(self, stage, batch_size):
        return batch_size * 2 ** stage

    def forward(self, x):
        for block in self.blocks:
            x = block(x).tanh()
        return x

    def loss(self, x, y=None):
        self.seen.append(len(x))
        return ((self(x + 0.1 * mg.randn(*x.shape)) - x) ** 2).mean()

    def sample(self, n, y=None):
        return self(mg.randn(n, 2)).data


@pytest.fixture
def toy(monkeypatch):
    entry = models.Entry("grower-test", lambda ds: Toy(), "a growing test model", {},
                         {"steps": 14, "batch_size": 8, "lr": 0.05})
    monkeypatch.setitem(models._REGISTRY, "grower-test", entry)
    return "grower-test"


def test_a_growing_model_gets_new_parameters_trained_and_a_new_batch_size():
    points = data.load("ring8", n=200)
    mg.manual_seed(0)
    model = Toy()
    trainer = Trainer(model, points, batch_size=8, lr=0.05, seed=0, steps=14)
    trainer.fit(14, progress=False)
    assert len(model.blocks) == 3 and trainer.stage == 2
    assert model.seen == [8] * 4 + [16] * 5 + [32] * 5
    (optimizer,) = trainer.optimizers.values()
    assert [len(g["params"]) for g in optimizer.param_groups] == [2, 2, 2]
    newest = model.blocks[2].weight
    assert id(newest) in {id(p) for p in optimizer.state}        # it was stepped
    assert len(trainer.ema.shadow_params) == 6


def test_a_growing_model_resumes_bit_exactly_across_stages(toy, tmp_path):
    kwargs = dict(data="ring8", checkpoint_every=3, progress=False)
    train(toy, out=str(tmp_path / "a"), **kwargs)
    for stop in (2, 6):            # stopped in stage 0 and in stage 1, resumed through the rest
        out = str(tmp_path / f"b{stop}")
        train(toy, out=out, on_step=lambda step, losses: step == stop, **kwargs)
        train(toy, out=out, resume=True, progress=False)
        a, b = (load_checkpoint(os.path.join(d, "checkpoint.npz")) for d in (tmp_path / "a", out))
        assert_same_state(comparable(a), comparable(b))
    model, config = load_run(str(tmp_path / "a"))
    assert len(model.blocks) == 3 and config["checkpoint"]["step"] == 14
    with open(tmp_path / "a" / "config.json") as f:
        assert json.load(f)["finished"] is True
