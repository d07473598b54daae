"""``train()``: one training run into a run directory, fresh or resumed (``minigen train``).

    from minigen.train import train
    summary = train("gaussian", data="ring8", steps=500, out="runs/g")
    summary = train("gaussian", data="ring8", steps=1000, out="runs/g", resume=True)   # 500 more

Nothing is overwritten silently: a directory that already holds a run needs ``resume=True`` (carry
on, with the saved configuration) or ``force=True`` (start again). Problems with the arguments
or the directory raise RunError, a one-sentence message for the command line.
"""
import os
import re
import time

import minigen as mg
from minigen import backend
from minigen import data as datasets
from . import plots
from .checkpoint import save_checkpoint
from .run import (CHECKPOINT, CONFIG, LOSS, METRICS, SAMPLES, RunError, build_model,
                  read_checkpoint, read_config, versions, write_json)
from .trainer import SAMPLE_SEED_OFFSET, Trainer, sample_batch_spec

LOSS_PLOT_INTERVAL_S = 30.0     # redraw loss.png at a checkpoint at most this often


def default_out(model, data):
    """runs/MODEL-DATA, with characters that do not belong in a folder name replaced by '_'."""
    return os.path.join("runs", re.sub(r"[^A-Za-z0-9_.+-]", "_", f"{model}-{data}"))


def check_device(device):
    """The canonical device name; RunError when 'cuda' is asked for but CuPy or a GPU is missing."""
    try:
        device = backend.check_device(device)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    if device == "cuda":
        try:
            backend.xp_for("cuda")
        except RuntimeError as exc:
            raise RunError(f"--device cuda is not available: {exc}") from None
        if not backend.cuda_available():
            raise RunError("--device cuda is not available: CuPy is installed but finds no GPU")
    return device


def _check_names(model, data):
    from minigen import models
    if model not in models.names():
        raise RunError(f"unknown model {model!r}; valid models are {', '.join(models.names())}")
    if not (data in datasets.names() or data.startswith("mnist:")):
        raise RunError(f"unknown dataset {data!r}; valid datasets are "
                       f"{', '.join(datasets.names())}")


def _resumed_config(out, model, data, options, seed, batch_size, lr):
    """The saved configuration of the run in ``out``, checked against the arguments given."""
    config = read_config(out)
    given = {"model": model, "data": data, "seed": seed, "batch_size": batch_size, "lr": lr}
    for key, value in given.items():
        if value is not None and value != config.get(key):
            raise RunError(f"cannot resume {out} with {key}={value!r}: the run was started with "
                           f"{key}={config.get(key)!r} (leave it out, or start a new run)")
    if options and {**config["options"], **options} != config["options"]:
        raise RunError(f"cannot resume {out} with options {options}: the run was started with "
                       f"{config['options']}")
    if not os.path.isfile(os.path.join(out, CHECKPOINT)):
        raise RunError(f"cannot resume {out}: it has no {CHECKPOINT}")
    return config


def _new_config(model, data, options, seed, steps, batch_size, lr, device):
    from minigen import models
    defaults = models.train_defaults(model, data)
    values = models.options(model)
    unknown = sorted(set(options or {}) - set(values))
    if unknown:
        raise RunError(f"model {model!r} has no option(s) {', '.join(unknown)}; valid options "
                       f"are {', '.join(values) or '(none)'}")
    values.update(options or {})
    return {"model": model, "data": data, "options": values,
            "seed": 0 if seed is None else int(seed),
            "steps": int(defaults["steps"] if steps is None else steps),
            "batch_size": int(defaults["batch_size"] if batch_size is None else batch_size),
            "lr": float(defaults["lr"] if lr is None else lr),
            "device": device}


def _prepare_fresh(out, force):
    existing = [f for f in (CONFIG, CHECKPOINT) if os.path.exists(os.path.join(out, f))]
    if existing and not force:
        raise RunError(f"{out} already holds a training run ({', '.join(existing)}); use --resume "
                       f"to continue it or --force to overwrite it")
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunError(f"{out} is a file, not a run directory; choose another --out")
    try:
        for name in (CONFIG, CHECKPOINT, SAMPLES, LOSS, METRICS):
            path = os.path.join(out, name)
            if os.path.exists(path):
                os.remove(path)
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot use {out} as the run directory: {exc.strerror}") from None


def train(model, data=None, steps=None, batch_size=None, lr=None, seed=None, device="cpu",
          out=None, resume=False, force=False, options=None, checkpoint_every=None,
          progress=None, on_step=None):
    """Train model ``model`` on ``data`` into the run directory ``out``; returns a summary dict.

    Arguments left as None take the model's tested defaults for the dataset (or, with ``resume``,
    the saved run's values; only ``steps`` may then differ, to train further). ``options`` are
    model options (typed values, as ``minigen.models.create`` takes). ``checkpoint_every``
    defaults to a tenth of the steps; ``on_step(step, losses)`` returning True stops the run the
    way Ctrl-C does (checkpoint written, resumable).
    """
    device = check_device(device)
    if resume:
        if out is None:
            if model is None or data is None:
                raise RunError("--resume needs --out DIR (or the model and --data of the run)")
            out = default_out(model, data)
        config = _resumed_config(out, model, data, options, seed, batch_size, lr)
        config["steps"] = int(steps) if steps is not None else config["steps"]
        config["device"] = device
    else:
        data = "digits" if data is None else data
        _check_names(model, data)
        out = out or default_out(model, data)
        config = _new_config(model, data, options, seed, steps, batch_size, lr, device)
    # every check comes before _prepare_fresh, so a refused --force run leaves the old one intact
    if config["steps"] < 0 or config["batch_size"] < 1 or not config["lr"] > 0:
        raise RunError(f"steps must be >= 0, batch size >= 1 and lr > 0; got steps="
                       f"{config['steps']}, batch size={config['batch_size']}, lr={config['lr']}")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise RunError(f"--checkpoint-every must be at least 1 step, got {checkpoint_every}")
    try:
        dataset = datasets.load(config["data"], "train")
    except (ValueError, OSError) as exc:
        raise RunError(f"cannot load dataset {config['data']!r}: {exc}") from None
    if not resume:
        _prepare_fresh(out, force)
    mg.manual_seed(config["seed"])          # before the model: weight initialisation is seeded
    net = build_model(config, dataset).to(device)
    trainer = Trainer(net, dataset, config["batch_size"], config["lr"], seed=config["seed"],
                      device=device, steps=config["steps"])
    if resume:
        trainer.load_state_dict(read_checkpoint(out, device=device))
    config.update(versions=versions(), step=trainer.step, finished=False,
                  train_seconds=trainer.train_seconds)
    write_json(os.path.join(out, CONFIG), config)

    last_plot = [time.perf_counter()]

    def checkpoint(t):
        save_checkpoint(os.path.join(out, CHECKPOINT), t.state_dict())
        config.update(step=t.step, train_seconds=round(t.train_seconds, 3))
        write_json(os.path.join(out, CONFIG), config)
        if time.perf_counter() - last_plot[0] > LOSS_PLOT_INTERVAL_S:
            plots.plot_losses(t.history, os.path.join(out, LOSS), title=_title(config))
            last_plot[0] = time.perf_counter()

    every = checkpoint_every or max(1, config["steps"] // 10)
    finished = trainer.fit(config["steps"], checkpoint=checkpoint, checkpoint_every=every,
                           on_step=on_step, progress=progress)
    plots.plot_losses(trainer.history, os.path.join(out, LOSS), title=_title(config))
    if finished:
        n, labels = sample_batch_spec(net, dataset)
        y = None if labels is None else mg.tensor(labels, device=device)
        samples = trainer.sample(n, y=y, seed=config["seed"] + SAMPLE_SEED_OFFSET)
        plots.plot_samples(samples, os.path.join(out, SAMPLES), dataset, labels=labels,
                           title=f"{_title(config)}, step {trainer.step}")
    config.update(finished=finished)
    write_json(os.path.join(out, CONFIG), config)
    last = {k: r["value"][-1] for k, r in trainer.history.items() if r["value"]}
    return {"out": out, "step": trainer.step, "finished": finished,
            "train_seconds": config["train_seconds"], "losses": last}


def _title(config):
    return f"{config['model']} on {config['data']}"
