"""The training loop shared by every model (the contract it drives is in minigen/models/base.py).

One step of training is

    (a growing model that reached a new stage grows: new parameters join the optimizers and the
     EMA, the loader takes the stage's batch size)
    batch  = next(loader)                      (x,) or (x, y) as Tensors on the device
    losses = model.training_step(batch, optimizers, step)       every value must be finite
    every scheduler steps; the EMA of ema_module()'s weights (if the model keeps one) updates;
    step += 1; every ``validate_every`` steps the held-out measure (if the model declares one)

and the trainer only keeps the books: the step, the loss and validation histories, the best
validation value, periodic checkpoints, the progress line. A checkpoint holds all state that the
next step depends on (weights, optimizer and scheduler states, EMA, the stage, the loader's
position, minigen's random generator), so a run that is stopped and resumed ends with bit-for-bit
the same weights as one that never stopped.
"""
import contextlib
import math
import signal
import threading
import time
import warnings

import numpy as np

import minigen as mg
from minigen import data as datasets
from minigen.models import GenerativeModel, GrowingModel, SamplingModel
from .progress import Progress

SAMPLE_SEED_OFFSET = 1_000_003       # samples.png is drawn from its own seed, not the training stream
VALIDATION_SEED_OFFSET = 2_000_003   # so is the validation measure (dequantization, t of DDPM ...)
EVAL_BATCH = 500


class NonFiniteLoss(RuntimeError):
    """A loss of a training step was NaN or inf; ``step`` and ``name`` say which."""

    def __init__(self, step, name, value):
        self.step, self.name, self.value = step, name, value
        super().__init__(f"loss term {name!r} became {value} at step {step}")


def split_validation(arrays, fraction, seed):
    """(training arrays, held-out arrays or None): ``fraction`` of the examples, chosen by a
    permutation fixed by ``seed``, are held out; the rest keep their order."""
    if not fraction:
        return arrays, None
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}")
    n = len(arrays[0])
    held = max(1, int(round(fraction * n)))
    if held >= n:
        raise ValueError(f"holding out {held} of {n} examples for validation leaves none to train")
    order = np.random.default_rng([seed, VALIDATION_SEED_OFFSET]).permutation(n)
    keep, out = np.sort(order[held:]), np.sort(order[:held])
    return tuple(a[keep] for a in arrays), tuple(a[out] for a in arrays)


class Trainer:
    """Trains ``model`` (a GenerativeModel) on ``dataset``; see the module docstring."""

    def __init__(self, model, dataset, batch_size, lr, seed=0, device="cpu", steps=None):
        if not isinstance(model, GenerativeModel):
            raise TypeError(f"the trainer drives a minigen.models.GenerativeModel, got "
                            f"{type(model).__name__}")
        self.model, self.device, self.seed = model, device, seed
        self.batch_size, self.lr = batch_size, lr
        self.arrays, self.validation_arrays = split_validation(
            model.training_arrays(dataset), model.validation_fraction, seed)
        self.stage = 0
        self.loader = self._make_loader(self._stage_batch_size(0))
        self.optimizers = model.configure_optimizers(lr)
        self.schedulers = model.configure_schedulers(self.optimizers, steps)
        self.ema = self._make_ema()
        self.step = 0
        self.history = {}            # loss name -> {"step": [...], "value": [...]}
        self.validation = {"step": [], "value": []}
        self.best = None             # (value, step) of the lowest validation value so far
        self.train_seconds = 0.0
        self._batches = None

    # ------------------------------------------------------------------ pieces that stages renew
    def _stage_batch_size(self, stage):
        if isinstance(self.model, GrowingModel):
            return int(self.model.stage_batch_size(stage, self.batch_size))
        return self.batch_size

    def _make_loader(self, batch_size):
        n = len(self.arrays[0])
        return datasets.DataLoader(self.arrays, batch_size=batch_size, shuffle=True,
                                   seed=self.seed, device=self.device, drop_last=batch_size <= n)

    def _make_ema(self, previous=None):
        """An EMA of ema_module()'s parameters; shadows of parameters ``previous`` already
        averaged are carried over (a grown model keeps the average of its old layers)."""
        decay = self.model.ema_decay
        if not decay:
            return None
        self._ema_params = list(self.model.ema_module().parameters())
        ema = mg.optim.EMA(self._ema_params, decay=decay)
        if previous is not None:
            old_ema, old_params = previous
            shadows = {id(p): s for p, s in zip(old_params, old_ema.shadow_params)}
            ema.shadow_params = [shadows.get(id(p), s) for p, s in
                                 zip(self._ema_params, ema.shadow_params)]
            ema.num_updates = old_ema.num_updates
        return ema

    def grow(self, stage):
        """Enter ``stage`` of a GrowingModel: grow it, give new parameters to the optimizers and
        the EMA, and start a new epoch of the loader with the stage's batch size."""
        known = {id(p) for p in self.model.parameters()}
        self.model.grow(stage)
        self.model.to(self.device)
        fresh = self.model.configure_optimizers(self.lr)
        for name, optimizer in self.optimizers.items():
            new = [p for group in fresh[name].param_groups for p in group["params"]
                   if id(p) not in known]
            if new:
                settings = {k: v for k, v in optimizer.param_groups[0].items()
                            if k not in ("params", "param_names")}
                optimizer.add_param_group({**settings, "params": new})
                for scheduler in self.schedulers.values():
                    if scheduler.optimizer is optimizer:
                        scheduler.base_lrs.append(settings.get("initial_lr", settings["lr"]))
        if self.ema is not None:
            self.ema = self._make_ema(previous=(self.ema, self._ema_params))
        old = self.loader
        self.loader = self._make_loader(self._stage_batch_size(stage))
        self.loader.epoch = old.epoch + (1 if old.position else 0)
        self._batches = None
        self.stage = stage

    # ------------------------------------------------------------------ one step
    def train_step(self):
        """One step of the contract on the next batch; returns the step's losses."""
        if isinstance(self.model, GrowingModel):
            target = int(self.model.stage_at(self.step))
            while self.stage < target:
                self.grow(self.stage + 1)
        if self._batches is None:
            self._batches = self.loader.forever()
        batch = tuple(mg.tensor(a) for a in next(self._batches))
        self.model.train()
        losses = self.model.training_step(batch, self.optimizers, self.step)
        if not isinstance(losses, dict):
            raise TypeError(f"{type(self.model).__name__}.training_step must return a dict of "
                            f"float losses, got {type(losses).__name__}")
        for name, value in losses.items():
            if not math.isfinite(float(value)):
                raise NonFiniteLoss(self.step, name, float(value))
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

    def validate(self):
        """The model's validation_loss averaged over the held-out examples (None without them),
        with the EMA weights and a private random stream; recorded at the current step."""
        if self.validation_arrays is None:
            return None
        total, count = 0.0, 0
        with sampling(self.model, self.ema, seed=self.seed + VALIDATION_SEED_OFFSET):
            for start in range(0, len(self.validation_arrays[0]), EVAL_BATCH):
                batch = tuple(mg.tensor(a[start:start + EVAL_BATCH], device=self.device)
                              for a in self.validation_arrays)
                m = len(batch[0])
                total += float(self.model.validation_loss(batch)) * m
                count += m
        value = total / count
        self.validation["step"].append(self.step)
        self.validation["value"].append(value)
        if math.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (value, self.step)
        return value

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """Everything the next step depends on, as a tree that checkpoint.save_checkpoint stores."""
        return {
            "step": self.step,
            "stage": self.stage,
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "ema": None if self.ema is None else self.ema.state_dict(),
            "loader": self.loader.state_dict(),
            "rng": mg.get_rng_state(),
            "history": {k: {"step": np.asarray(r["step"], np.int64),
                            "value": np.asarray(r["value"], np.float64)}
                        for k, r in self.history.items()},
            "validation": {"step": np.asarray(self.validation["step"], np.int64),
                           "value": np.asarray(self.validation["value"], np.float64)},
            "best": None if self.best is None else {"value": self.best[0], "step": self.best[1]},
            "train_seconds": self.train_seconds,
        }

    def load_state_dict(self, state):
        for stage in range(self.stage + 1, int(state.get("stage", 0)) + 1):
            self.grow(stage)          # the same modules, groups and loader as when it was saved
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
        validation = state.get("validation") or {"step": [], "value": []}
        self.validation = {"step": [int(s) for s in validation["step"]],
                           "value": [float(v) for v in validation["value"]]}
        best = state.get("best")
        self.best = None if best is None else (float(best["value"]), int(best["step"]))
        self.train_seconds = float(state["train_seconds"])

    # ------------------------------------------------------------------ the loop
    def fit(self, steps, checkpoint=None, checkpoint_every=None, on_step=None, progress=None,
            validate_every=None, on_best=None):
        """Train until ``self.step == steps``. Returns True when finished, False when stopped early.

        checkpoint        callable(trainer), called every ``checkpoint_every`` steps and at the end
        validate_every    steps between validations (default: checkpoint_every, else a tenth of
                          the steps); also at step ``steps``. ``on_best(trainer)`` is called when
                          the validation value is the lowest so far (the runner saves
                          checkpoint_best.npz)
        on_step           callable(step, losses) after each step; returning True stops the run
                          (as Ctrl-C does: the first SIGINT finishes the step, then stops)
        progress          None (bar on a terminal, plain lines elsewhere), True/"bar", "lines",
                          False (nothing)
        A NaN or inf loss raises NonFiniteLoss before that step's checkpoint is written.
        """
        finished = True
        every_validation = validate_every or checkpoint_every or max(1, steps // 10)
        with Progress(steps, initial=self.step, show=progress) as bar, _stop_on_sigint() as stop:
            if self.validation["value"]:
                bar.note(validation=self.validation["value"][-1])
            while self.step < steps:
                start = time.perf_counter()
                losses = self.train_step()
                self.train_seconds += time.perf_counter() - start
                if self.validation_arrays is not None and (
                        self.step % every_validation == 0 or self.step == steps):
                    best_before = self.best
                    bar.note(validation=self.validate())
                    if on_best is not None and self.best is not best_before:
                        on_best(self)
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
    if isinstance(model, SamplingModel) and model.conditional and dataset.num_classes:
        classes = min(dataset.num_classes, 10)
        return classes * 10, np.repeat(np.arange(classes, dtype=np.int64), 10)
    return 64, None
