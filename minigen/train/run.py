"""The run directory: what ``minigen train`` writes and ``sample``/``evaluate`` read back.

    DIR/config.json      model, data, options, seed, steps, batch size, lr, versions, train_seconds
    DIR/checkpoint.npz   the last state: everything needed to resume exactly (Trainer.state_dict)
    DIR/checkpoint_best.npz   the state with the lowest validation value (models that validate)
    DIR/loss.png         losses (and the validation measure) against steps
    DIR/samples.png, translations.png, reconstructions.png    by capability (train/figures.py)
    DIR/metrics.json     written by ``minigen evaluate``

``load_run(DIR)`` rebuilds the trained model from these files (with its EMA weights, when the
model keeps an EMA): from checkpoint_best.npz when the run has one (the model that did best on
the held-out part of the train split), else from checkpoint.npz; ``checkpoint="last"`` asks for
the last one. Training always resumes from checkpoint.npz. Problems with the directory raise
RunError, one sentence each, which the command line prints without a traceback.
"""
import json
import os
import platform
import tempfile

import numpy as np

import minigen as mg
from .checkpoint import CheckpointError, load_checkpoint

CONFIG = "config.json"
CHECKPOINT = "checkpoint.npz"
CHECKPOINT_BEST = "checkpoint_best.npz"
CHECKPOINTS = {"last": CHECKPOINT, "best": CHECKPOINT_BEST}
SAMPLES = "samples.png"
LOSS = "loss.png"
METRICS = "metrics.json"


class RunError(RuntimeError):
    """A run directory is missing, incomplete or inconsistent."""


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically (temporary file + os.replace)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)     # mkstemp makes the file private; give it normal rights
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def versions():
    """Versions that a result depends on, recorded in config.json."""
    return {"minigen": mg.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def read_config(run_dir):
    """The dict in DIR/config.json; RunError when the directory or the file is missing or broken."""
    if not os.path.isdir(run_dir):
        raise RunError(f"run directory {run_dir} does not exist")
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        raise RunError(f"{run_dir} is not a training run: it has no {CONFIG}")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from None
    missing = [k for k in ("model", "data", "options", "seed") if k not in config]
    if not isinstance(config, dict) or missing:
        raise RunError(f"{path} is not a minigen run configuration (missing {missing})")
    return config


def read_checkpoint(run_dir, device="cpu", name=CHECKPOINT):
    """The checkpoint tree ``name`` of a run; RunError when it is missing or damaged."""
    path = os.path.join(run_dir, name)
    if not os.path.isfile(path):
        raise RunError(f"{run_dir} has no {name}; train the model first")
    try:
        state = load_checkpoint(path, device=device)
    except CheckpointError as exc:
        raise RunError(str(exc)) from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise RunError(f"{path} is not a training checkpoint (it holds no model state)")
    return state


def build_model(config, dataset=None):
    """The untrained model a config describes (``dataset``: its loaded train split, if at hand)."""
    from minigen import models
    data = dataset if dataset is not None else config["data"]
    try:
        return models.create(config["model"], data, **config["options"])
    except ValueError as exc:
        raise RunError(f"cannot build model {config['model']!r}: {exc}") from None


def which_checkpoint(run_dir, checkpoint=None):
    """'best' or 'last': ``checkpoint`` if given, else 'best' when the run has checkpoint_best.npz."""
    if checkpoint is None:
        return "best" if os.path.isfile(os.path.join(run_dir, CHECKPOINT_BEST)) else "last"
    if checkpoint not in CHECKPOINTS:
        raise RunError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
    if checkpoint == "best" and not os.path.isfile(os.path.join(run_dir, CHECKPOINT_BEST)):
        raise RunError(f"{run_dir} has no {CHECKPOINT_BEST}: its model declares no validation "
                       f"measure (use the last checkpoint)")
    return checkpoint


def load_run(run_dir, device="cpu", use_ema=True, checkpoint=None):
    """(model, config) of a finished or interrupted run, in eval mode on ``device``.

    ``checkpoint``: 'best' (checkpoint_best.npz), 'last' (checkpoint.npz) or None (best when the
    run has it, else last); ``config["checkpoint"]`` says which was loaded and at which step.
    With ``use_ema`` (the default) a model that keeps an EMA of its weights gets the averaged
    weights of its ema_module(), as the trainer samples with them.
    """
    from minigen.models import GrowingModel, grow_to
    config = read_config(run_dir)
    which = which_checkpoint(run_dir, checkpoint)
    state = read_checkpoint(run_dir, device=device, name=CHECKPOINTS[which])
    model = build_model(config)
    try:
        if isinstance(model, GrowingModel):
            grow_to(model, state.get("stage", 0))
        model.to(device)
        model.load_state_dict(state["model"])
        if use_ema and state.get("ema") is not None:
            ema = mg.optim.EMA(model.ema_module(), decay=state["ema"]["decay"])
            ema.load_state_dict(state["ema"])
            ema.copy_to()
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RunError(f"the checkpoint in {run_dir} does not fit model {config['model']!r} "
                       f"with options {config['options']}: {exc}") from None
    model.eval()
    config = {**config, "checkpoint": {"file": CHECKPOINTS[which], "step": int(state["step"])}}
    return model, config
