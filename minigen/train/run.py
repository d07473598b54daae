"""The run directory: what ``minigen train`` writes and ``sample``/``evaluate`` read back.

    DIR/config.json      model, data, options, seed, steps, batch size, lr, versions, train_seconds
    DIR/checkpoint.npz   everything needed to resume exactly (see trainer.Trainer.state_dict)
    DIR/samples.png      samples at the end of training
    DIR/loss.png         losses against steps
    DIR/metrics.json     written by ``minigen evaluate``

``load_run(DIR)`` rebuilds the trained model from these files (with its EMA weights, when the
model samples with an EMA). Problems with the directory raise RunError, one sentence each, which
the command line prints without a traceback.
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


def read_checkpoint(run_dir, device="cpu"):
    """The checkpoint tree of a run; RunError when it is missing or damaged."""
    path = os.path.join(run_dir, CHECKPOINT)
    if not os.path.isfile(path):
        raise RunError(f"{run_dir} has no {CHECKPOINT}; train the model first")
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
        raise RunError(f"cannot rebuild the model of this run: {exc}") from None


def load_run(run_dir, device="cpu", use_ema=True):
    """(model, config) of a finished or interrupted run, in eval mode on ``device``.

    With ``use_ema`` (the default) a model that keeps an EMA of its weights gets the averaged
    weights, as the trainer samples with them.
    """
    config = read_config(run_dir)
    state = read_checkpoint(run_dir, device=device)
    model = build_model(config).to(device)
    try:
        model.load_state_dict(state["model"])
        if use_ema and state.get("ema") is not None:
            ema = mg.optim.EMA(model, decay=state["ema"]["decay"])
            ema.load_state_dict(state["ema"])
            ema.copy_to(model)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RunError(f"the checkpoint in {run_dir} does not fit model {config['model']!r} "
                       f"with options {config['options']}: {exc}") from None
    model.eval()
    return model, config
