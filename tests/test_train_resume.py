"""Stopping and resuming a run gives bit-for-bit the run that never stopped.

Checked with a model that uses everything a checkpoint must carry: two optimizers stepped in
turn (as a GAN's, lecture §4.5), a learning-rate schedule, an EMA of the weights, dropout (the
random generator) and a shuffled loader that crosses epochs.
"""
import os
import signal

import numpy as np
import pytest

import minigen as mg
from minigen import data, nn, optim
from minigen.models import GenerativeModel
from minigen.train import (CheckpointError, RunError, Trainer, load_checkpoint, read_config,
                           save_checkpoint, train)


class TwoPlayer(GenerativeModel):
    """A toy 'GAN' on 2-D points: a critic step every step, a generator step every other step."""

    ema_decay = 0.9

    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
        self.critic = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 1))

    def configure_optimizers(self, lr):
        return {"generator": optim.Adam(self.generator.parameters(), lr=lr),
                "critic": optim.SGD(self.critic.parameters(), lr=lr, momentum=0.9)}

    def configure_schedulers(self, optimizers, steps):
        return {"generator": optim.lr_scheduler.StepLR(optimizers["generator"], 5, gamma=0.5)}

    def training_step(self, batch, optimizers, step):
        x, _ = batch
        fake = self.generator(mg.randn(x.shape[0], 3))
        d_loss = self.critic(fake.detach()).mean() - self.critic(x).mean()
        optimizers["critic"].zero_grad()
        d_loss.backward()
        optimizers["critic"].step()
        losses = {"critic": d_loss.item()}
        if step % 2 == 1:
            g_loss = -self.critic(self.generator(mg.randn(x.shape[0], 3))).mean()
            optimizers["generator"].zero_grad()
            g_loss.backward()
            optimizers["generator"].step()
            losses["generator"] = g_loss.item()
        return losses

    def sample(self, n, y=None):
        return self.generator(mg.randn(n, 3)).data


@pytest.fixture(scope="module")
def points():
    return data.load("ring8", n=200)


def make_trainer(points, seed=0):
    mg.manual_seed(seed)
    return Trainer(TwoPlayer(), points, batch_size=64, lr=0.01, seed=seed, steps=23)


def assert_same_state(a, b):
    """Two trainer state_dicts are equal: every array bitwise, everything else exactly."""
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_same_state(u, v)
    elif isinstance(a, mg.Tensor) or isinstance(a, np.ndarray):
        a, b = (t.numpy() if isinstance(t, mg.Tensor) else t for t in (a, b))
        assert a.dtype == b.dtype and np.array_equal(a, b)
    elif isinstance(a, float) and not isinstance(b, float):
        raise AssertionError(f"{a!r} != {b!r}")
    else:
        assert a == b


def comparable(state):
    """The state without the wall-clock time, which differs between any two runs."""
    return {k: v for k, v in state.items() if k != "train_seconds"}


def test_resuming_from_a_checkpoint_file_reproduces_the_uninterrupted_run(points, tmp_path):
    straight = make_trainer(points)
    straight.fit(23, progress=False)

    first = make_trainer(points)
    first.fit(9, progress=False)      # 9 steps: mid-epoch (3 batches per epoch), odd step
    save_checkpoint(tmp_path / "c.npz", first.state_dict())
    mg.randn(5)                        # anything in between must not matter
    second = make_trainer(points, seed=0)
    second.load_state_dict(load_checkpoint(tmp_path / "c.npz"))
    second.fit(23, progress=False)

    assert second.step == straight.step == 23
    assert_same_state(comparable(second.state_dict()), comparable(straight.state_dict()))
    assert set(straight.history) == {"critic", "generator"}
    assert len(straight.history["generator"]["step"]) == 11   # every other step


def test_the_ema_differs_from_the_weights_and_is_what_sampling_uses(points):
    trainer = make_trainer(points)
    trainer.fit(6, progress=False)
    weights = [p.numpy().copy() for p in trainer.model.parameters()]
    assert not all(np.array_equal(w, s) for w, s in zip(weights, trainer.ema.shadow_params))
    with_ema = trainer.sample(4, seed=1)
    with mg.no_grad():
        mg.manual_seed(1)
        trainer.ema.copy_to(trainer.model)
        expected = trainer.model.sample(4)
    np.testing.assert_array_equal(with_ema, expected)


def test_sampling_leaves_the_training_stream_and_mode_untouched(points):
    trainer = make_trainer(points)
    trainer.fit(2, progress=False)
    state = mg.get_rng_state()
    weights = [p.numpy().copy() for p in trainer.model.parameters()]
    trainer.sample(10, seed=123)
    assert mg.get_rng_state() == state and trainer.model.training
    assert all(np.array_equal(w, p.numpy()) for w, p in zip(weights, trainer.model.parameters()))


def run_files(out):
    return load_checkpoint(os.path.join(out, "checkpoint.npz"))


def test_train_stopped_and_resumed_ends_bitwise_equal(tmp_path):
    # Gaussian on digits: dequantization noise draws from the random generator every step.
    kwargs = dict(data="digits", steps=30, batch_size=256, checkpoint_every=10, progress=False)
    train("gaussian", out=str(tmp_path / "a"), **kwargs)
    stopped = train("gaussian", out=str(tmp_path / "b"), on_step=lambda step, losses: step == 17,
                    **kwargs)
    assert stopped["finished"] is False and stopped["step"] == 17
    assert not (tmp_path / "b" / "samples.png").exists()
    resumed = train("gaussian", out=str(tmp_path / "b"), resume=True, progress=False)
    assert resumed["finished"] and resumed["step"] == 30
    assert_same_state(comparable(run_files(tmp_path / "a")), comparable(run_files(tmp_path / "b")))
    assert read_config(tmp_path / "b")["finished"] is True


def test_a_crashed_run_resumes_from_its_last_periodic_checkpoint(tmp_path):
    kwargs = dict(data="digits", steps=30, batch_size=256, checkpoint_every=10, progress=False)
    train("gaussian", out=str(tmp_path / "a"), **kwargs)

    def crash(step, losses):
        if step == 25:
            raise ZeroDivisionError("simulated crash")

    with pytest.raises(ZeroDivisionError):
        train("gaussian", out=str(tmp_path / "b"), on_step=crash, **kwargs)
    assert run_files(tmp_path / "b")["step"] == 20
    train("gaussian", out=str(tmp_path / "b"), resume=True, progress=False)
    assert_same_state(comparable(run_files(tmp_path / "a")), comparable(run_files(tmp_path / "b")))


def test_ctrl_c_finishes_the_step_and_leaves_a_resumable_checkpoint(tmp_path):
    def interrupt(step, losses):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)   # SIG_IGN in a background job (nohup, &)
    summary = train("gaussian", data="ring8", steps=50, out=str(tmp_path / "g"), on_step=interrupt,
                    progress=False)
    assert summary["finished"] is False and summary["step"] == 4
    assert run_files(tmp_path / "g")["step"] == 4
    assert signal.getsignal(signal.SIGINT) is before     # the trainer's handler is removed again


def test_resume_can_extend_the_number_of_steps(tmp_path):
    train("gaussian", data="ring8", steps=10, out=str(tmp_path / "g"), progress=False)
    summary = train("gaussian", steps=25, out=str(tmp_path / "g"), resume=True, progress=False)
    assert summary["step"] == 25
    history = run_files(tmp_path / "g")["history"]["loss"]
    np.testing.assert_array_equal(history["step"], np.arange(25))


@pytest.mark.parametrize("change, message", [
    (dict(model="gaussian", data="grid25"), "data='grid25'.*data='ring8'"),
    (dict(model="gaussian", seed=3), "seed=3"),
    (dict(model="gaussian", lr=0.5), "lr=0.5"),
    (dict(model="gaussian", options={"dequantize": False}), "dequantize=False.*dequantize=True"),
])
def test_resume_refuses_settings_that_differ_from_the_saved_run(tmp_path, change, message):
    train("gaussian", data="ring8", steps=3, out=str(tmp_path / "g"), progress=False)
    with pytest.raises(RunError, match=message):
        train(out=str(tmp_path / "g"), resume=True, progress=False, **change)


def test_resume_without_a_run_says_so(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        train("gaussian", out=str(tmp_path / "none"), resume=True)


def test_a_damaged_checkpoint_raises_checkpoint_error(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"step": 1, "x": np.arange(3)})
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")


class PairModel(GenerativeModel):
    """Records the batches it is given; trains on (x, -x) pairs chosen by training_arrays."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.zeros(2, np.float32))
        self.seen = []

    def training_arrays(self, dataset):
        return dataset.x, -dataset.x

    def loss(self, a, b):
        self.seen.append((a.numpy(), b.numpy()))
        return ((a + b) * self.w).sum()


def test_a_model_can_choose_the_arrays_it_is_trained_on(points):
    model = PairModel()
    Trainer(model, points, batch_size=64, lr=0.1).fit(4, progress=False)
    assert len(model.seen) == 4
    for a, b in model.seen:
        assert a.shape == (64, 2)
        np.testing.assert_array_equal(b, -a)
