"""The training loop shared by every model, and ``train()``, which runs it into a run directory.

One step of training is

    batch  = next(loader)                      (x,) or (x, y) as Tensors on the device
    losses = model.training_step(batch, optimizers, step)
    every scheduler steps; the EMA of the weights (if the model keeps one) updates; step += 1

and the trainer only keeps the books: the step, the loss history, periodic checkpoints, the
progress bar. A checkpoint holds all state that the next step depends on (weights, optimizer and
scheduler states, EMA, the loader's position, minigen's random generator), so a run that is
stopped and resumed ends with bit-for-bit the same weights as one that never stopped.
"""
import contextlib
import signal
import threading
import time
import warnings

import numpy as np

import minigen as mg
from minigen import data as datasets
from .progress import Progress

SAMPLE_SEED_OFFSET = 1_000_003   # samples.png is drawn from its own seed, not the training stream


class Trainer:
    """Trains ``model`` on ``dataset`` through the training contract (minigen/train/__init__.py)."""

    def __init__(self, model, dataset, batch_size, lr, seed=0, device="cpu", steps=None):
        self.model = model
        self.device = device
        # A model that trains on more than (x, y) of one dataset (domain pairs) says what to batch.
        arrays = (model.training_arrays(dataset) if hasattr(model, "training_arrays")
                  else dataset.arrays())
        self.loader = datasets.DataLoader(arrays, batch_size=batch_size, shuffle=True, seed=seed,
                                          device=device, drop_last=batch_size <= len(arrays[0]))
        self.optimizers = model.configure_optimizers(lr)
        self.schedulers = model.configure_schedulers(self.optimizers, steps)
        decay = getattr(model, "ema_decay", None)
        self.ema = mg.optim.EMA(model, decay=decay) if decay else None
        self.step = 0
        self.history = {}            # loss name -> {"step": [...], "value": [...]}
        self.train_seconds = 0.0
        self._batches = None

    def train_step(self):
        """One step of the contract on the next batch; returns the step's losses."""
        if self._batches is None:
            self._batches = self.loader.forever()
        batch = tuple(mg.tensor(a) for a in next(self._batches))
        self.model.train()
        losses = self.model.training_step(batch, self.optimizers, self.step)
        if not isinstance(losses, dict):
            raise TypeError(f"{type(self.model).__name__}.training_step must return a dict of "
                            f"float losses, got {type(losses).__name__}")
        with warnings.catch_warnings():
            # Schedules count training steps, also those in which a GAN's generator sat out;
            # torch's warning about a scheduler step before the first optimizer step is moot here.
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
            for scheduler in self.schedulers.values():
                scheduler.step()
        if self.ema is not None:
            self.ema.update()
        for name, value in losses.items():
            record = self.history.setdefault(name, {"step": [], "value": []})
            record["step"].append(self.step)
            record["value"].append(float(value))
        self.step += 1
        return losses

    def state_dict(self):
        """Everything the next step depends on, as a tree that checkpoint.save_checkpoint stores."""
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "ema": None if self.ema is None else self.ema.state_dict(),
            "loader": self.loader.state_dict(),
            "rng": mg.get_rng_state(),
            "history": {k: {"step": np.asarray(r["step"], np.int64),
                            "value": np.asarray(r["value"], np.float64)}
                        for k, r in self.history.items()},
            "train_seconds": self.train_seconds,
        }

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.loader.load_state_dict(state["loader"])
        self._batches = None
        mg.set_rng_state(state["rng"])
        self.step = int(state["step"])
        self.history = {k: {"step": [int(s) for s in r["step"]],
                            "value": [float(v) for v in r["value"]]}
                        for k, r in state["history"].items()}
        self.train_seconds = float(state["train_seconds"])

    def fit(self, steps, checkpoint=None, checkpoint_every=None, on_step=None, progress=None):
        """Train until ``self.step == steps``. Returns True when finished, False when stopped early.

        checkpoint        callable(trainer), called every ``checkpoint_every`` steps and at the end
        on_step           callable(step, losses) after each step; returning True stops the run
                          (as Ctrl-C does: the first SIGINT finishes the step, then stops)
        progress          True/False to force the progress bar on or off (default: if a terminal)
        """
        finished = True
        with Progress(steps, initial=self.step, show=progress) as bar, _stop_on_sigint() as stop:
            while self.step < steps:
                start = time.perf_counter()
                losses = self.train_step()
                self.train_seconds += time.perf_counter() - start
                bar.update(losses)
                wants_stop = bool(on_step(self.step, losses)) if on_step is not None else False
                if wants_stop or stop.requested:
                    finished = False
                    break
                if checkpoint and checkpoint_every and self.step % checkpoint_every == 0:
                    checkpoint(self)
        if checkpoint:
            checkpoint(self)
        return finished

    def sample(self, n, y=None, seed=0, **kwargs):
        """``model.sample`` in eval mode with the EMA weights (if any) and its own seed, leaving the
        training random stream where it was."""
        with sampling(self.model, self.ema, seed):
            return self.model.sample(n, y=y, **kwargs)


@contextlib.contextmanager
def sampling(model, ema=None, seed=None):
    """Eval mode, no gradients, EMA weights and (when ``seed`` is given) a private random stream;
    everything is put back afterwards."""
    saved_rng = mg.get_rng_state()
    was_training = model.training
    context = ema.average_parameters() if ema is not None else contextlib.nullcontext()
    try:
        if seed is not None:
            mg.manual_seed(seed)
        model.eval()
        with context, mg.no_grad():
            yield model
    finally:
        model.train(was_training)
        mg.set_rng_state(saved_rng)


class _StopFlag:
    requested = False


@contextlib.contextmanager
def _stop_on_sigint():
    """The first Ctrl-C asks the loop to stop after the current step; a second one interrupts."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def sample_batch_spec(model, dataset):
    """(n, labels) for samples.png: 10 per class for conditional image models, 64 images, or
    2,000 points for 2-D data."""
    if not dataset.is_image:
        return 2000, None
    if getattr(model, "conditional", False) and dataset.num_classes:
        classes = min(dataset.num_classes, 10)
        return classes * 10, np.repeat(np.arange(classes, dtype=np.int64), 10)
    return 64, None
