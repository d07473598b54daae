"""``train()``: one training run into a run directory, fresh or resumed (``minigen train``).

    from minigen.train import train
    summary = train("gaussian", data="ring8", steps=500, out="runs/g")
    summary = train("gaussian", data="ring8", steps=1000, out="runs/g", resume=True)   # 500 more

Nothing is lost: a directory that already holds a run needs ``resume=True`` (carry on, with the
saved configuration) or ``force=True`` (start again). Every argument is checked, the data loaded
and the model built before the directory is touched, and a forced run is prepared in a hidden
sibling folder that then takes the old run's place, so a refused or crashed start leaves the old
run as it was. Problems with the arguments or the directory raise RunError, a one-sentence
message for the command line; a loss that becomes NaN or inf stops the run with TrainingDiverged
(the last finite checkpoint stays, config.json says why it stopped).
"""
import contextlib
import math
import numbers
import os
import re
import shutil
import tempfile
import time

import minigen as mg
from minigen import backend
from minigen import data as datasets
from . import figures, plots
from .checkpoint import save_checkpoint
from .progress import reporting
from .run import (CHECKPOINT, CHECKPOINT_BEST, CONFIG, LOSS, METRICS, RunError, build_model,
                  read_checkpoint, read_config, versions, write_json)
from .trainer import SAMPLE_SEED_OFFSET, NonFiniteLoss, Trainer

# What a run writes; --force replaces these and carries any other file of the folder over.
RUN_FILES = (CONFIG, CHECKPOINT, CHECKPOINT_BEST, LOSS, METRICS, figures.SAMPLES,
             figures.TRANSLATIONS, figures.RECONSTRUCTIONS)


class TrainingDiverged(RunError):
    """A loss became NaN or inf; the run stopped and kept its last finite checkpoint."""

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


def _resumed_config(out, model, data, options, seed, batch_size, lr, steps):
    """The saved configuration of the run in ``out``, checked against the arguments given."""
    config = read_config(out)
    given = {"model": model, "data": data, "seed": seed, "batch_size": batch_size, "lr": lr}
    for key, value in given.items():
        if value is not None and value != config.get(key):
            raise RunError(f"cannot resume {out} with {key}={value!r}: the run was started with "
                           f"{key}={config.get(key)!r} (leave it out, or start a new run)")
    for key, value in (options or {}).items():
        if key not in config["options"]:
            raise RunError(f"cannot resume {out} with option {key}: model {config['model']!r} "
                           f"has no such option")
        if value != config["options"][key]:
            raise RunError(f"cannot resume {out} with {key}={value!r}: the run was started with "
                           f"{key}={config['options'][key]!r} (leave it out, or start a new run)")
    if not os.path.isfile(os.path.join(out, CHECKPOINT)):
        raise RunError(f"cannot resume {out}: it has no {CHECKPOINT}")
    if steps is not None:
        config["steps"] = int(steps)
    done = int(config.get("step") or 0)
    if config.get("finished") and config["steps"] <= done:
        raise RunError(f"{out} already finished at step {done}; give --steps N with N > {done} "
                       f"to train further")
    if config["steps"] < done:
        raise RunError(f"cannot resume {out} with --steps {config['steps']}: it is already at "
                       f"step {done}")
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
            "seed": 0 if seed is None else seed,
            "steps": defaults["steps"] if steps is None else steps,
            "batch_size": defaults["batch_size"] if batch_size is None else batch_size,
            "lr": float(defaults["lr"] if lr is None else lr),
            "device": device}


def _check_numbers(config, checkpoint_every, validate_every):
    """Every number of the run is of the right kind and range, in one sentence if not."""
    def whole(name, value, low):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise RunError(f"{name} must be an integer >= {low}, got {value!r}")
        return int(value)
    config["steps"] = whole("steps", config["steps"], 1)
    config["batch_size"] = whole("batch size", config["batch_size"], 1)
    config["seed"] = whole("seed", config["seed"], 0)
    if not (math.isfinite(config["lr"]) and config["lr"] > 0):
        raise RunError(f"lr must be a finite number > 0, got {config['lr']}")
    for name, value in (("--checkpoint-every", checkpoint_every),
                        ("--validate-every", validate_every)):
        if value is not None:
            whole(name, value, 1)


def _run_files(out):
    return [f for f in (CONFIG, CHECKPOINT) if os.path.exists(os.path.join(out, f))]


def _check_out(out, force):
    """Refuse, before anything is written, a --out that cannot take a new run."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunError(f"{out} is a file, not a run directory; choose another --out")
    existing = _run_files(out)
    if existing and not force:
        raise RunError(f"{out} already holds a training run ({', '.join(existing)}); use --resume "
                       f"to continue it or --force to overwrite it")


def _prepare_fresh(out, config):
    """Give ``out`` the new run's config.json. An old run there is replaced in two renames: the
    new folder is made aside (hidden, in the same parent), the old one is renamed away, the new
    one renamed into place, and only then the old one deleted, carrying over files that are not
    a run's. A crash in between leaves the old run or the new one (at worst under its hidden
    name beside ``out``), never neither."""
    try:
        if os.path.isdir(out) and not _run_files(out):    # an empty or foreign folder: use it
            write_json(os.path.join(out, CONFIG), config)
            return
        parent, name = os.path.split(os.path.abspath(out))
        os.makedirs(parent, exist_ok=True)
        new = tempfile.mkdtemp(prefix=f".{name}.new-", dir=parent)
        os.chmod(new, 0o777 & ~_umask())
        write_json(os.path.join(new, CONFIG), config)
        if not os.path.exists(out):
            os.rename(new, out)
            return
        old = tempfile.mkdtemp(prefix=f".{name}.replaced-", dir=parent)
        os.rmdir(old)
        os.rename(out, old)
        os.rename(new, out)
        for entry in os.listdir(old):
            if entry not in RUN_FILES and not entry.startswith("metrics"):
                os.rename(os.path.join(old, entry), os.path.join(out, entry))
        shutil.rmtree(old)
    except OSError as exc:
        raise RunError(f"cannot use {out} as the run directory: {exc.strerror}") from None


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def train(model, data=None, steps=None, batch_size=None, lr=None, seed=None, device="cpu",
          out=None, resume=False, force=False, options=None, checkpoint_every=None,
          progress=None, on_step=None, validate_every=None, sample_options=None,
          detect_anomaly=False):
    """Train model ``model`` on ``data`` into the run directory ``out``; returns a summary dict.

    Arguments left as None take the model's tested defaults for the dataset (or, with ``resume``,
    the saved run's values; only ``steps`` may then differ, to train further). ``options`` are
    model options (typed values, as ``minigen.models.create`` takes). ``checkpoint_every``
    defaults to a tenth of the steps, ``validate_every`` to ``checkpoint_every`` (models with a
    validation measure); ``on_step(step, losses)`` returning True stops the run the way Ctrl-C
    does (checkpoint written, resumable). ``sample_options`` change how samples.png is drawn
    (default: the model's fast sampler). ``progress``: see Trainer.fit. ``detect_anomaly`` runs
    the steps under mg.autograd.detect_anomaly(), which names the op that made a NaN.
    """
    device = check_device(device)
    if resume and force:
        raise RunError("--resume continues the run in --out and --force replaces it; give one "
                       "of them")
    if resume:
        if out is None:
            if model is None or data is None:
                raise RunError("--resume needs --out DIR (or the model and --data of the run)")
            out = default_out(model, data)
        config = _resumed_config(out, model, data, options, seed, batch_size, lr, steps)
        config["device"] = device
    else:
        data = "digits" if data is None else data
        _check_names(model, data)
        out = out or default_out(model, data)
        config = _new_config(model, data, options, seed, steps, batch_size, lr, device)
    # Every check and the model come before the run directory is touched: a refused run (also a
    # refused --force) leaves what is there as it was.
    _check_numbers(config, checkpoint_every, validate_every)
    if not resume:
        _check_out(out, force)
    try:
        dataset = datasets.load(config["data"], "train")
    except (ValueError, OSError) as exc:
        raise RunError(f"cannot load dataset {config['data']!r}: {exc}") from None
    mg.manual_seed(config["seed"])          # before the model: weight initialisation is seeded
    net = build_model(config, dataset).to(device)
    try:
        trainer = Trainer(net, dataset, config["batch_size"], config["lr"], seed=config["seed"],
                          device=device, steps=config["steps"])
    except ValueError as exc:
        raise RunError(f"cannot train {config['model']!r} on {config['data']!r}: {exc}") from None
    except MemoryError:
        raise RunError(_out_of_memory(config)) from None
    if resume:
        trainer.load_state_dict(read_checkpoint(out, device=device))
    config.pop("stopped", None)
    config.update(versions=versions(), step=trainer.step, finished=False,
                  train_seconds=trainer.train_seconds)
    if resume:
        write_json(os.path.join(out, CONFIG), config)
    else:
        _prepare_fresh(out, config)

    last_plot = [time.perf_counter()]

    def draw_losses(t):
        plots.plot_losses(t.history, os.path.join(out, LOSS), title=_title(config),
                          validation=t.validation, best=t.best)

    def checkpoint(t):
        save_checkpoint(os.path.join(out, CHECKPOINT), t.state_dict())
        config.update(step=t.step, train_seconds=round(t.train_seconds, 3))
        write_json(os.path.join(out, CONFIG), config)
        if time.perf_counter() - last_plot[0] > LOSS_PLOT_INTERVAL_S:
            draw_losses(t)
            last_plot[0] = time.perf_counter()

    def on_best(t):
        save_checkpoint(os.path.join(out, CHECKPOINT_BEST), t.state_dict())
        config["best"] = {"step": t.best[1], "validation": t.best[0]}

    every = checkpoint_every or max(1, config["steps"] // 10)
    anomaly = mg.autograd.detect_anomaly() if detect_anomaly else contextlib.nullcontext()
    try:
        with anomaly:
            finished = trainer.fit(config["steps"], checkpoint=checkpoint, checkpoint_every=every,
                                   on_step=on_step, progress=progress,
                                   validate_every=validate_every, on_best=on_best)
    except MemoryError:
        raise RunError(_out_of_memory(config, trainer.step)) from None
    except NonFiniteLoss as exc:
        draw_losses(trainer)
        kept = (f"the last finite checkpoint (step {config['step']}) is kept"
                if os.path.isfile(os.path.join(out, CHECKPOINT)) else "no checkpoint was written")
        config.update(finished=False, stopped=f"{exc}; {kept}")
        write_json(os.path.join(out, CONFIG), config)
        hint = ("" if detect_anomaly else "; train with --detect-anomaly to name the op that "
                "produced it, or lower --lr")
        raise TrainingDiverged(f"training stopped: {exc}; {kept} in {out}{hint}") from None
    draw_losses(trainer)
    drawn = {}
    if finished:
        with reporting(progress):
            drawn = figures.draw_figures(net, trainer.ema, out, dataset,
                                         f"{_title(config)}, step {trainer.step}",
                                         seed=config["seed"] + SAMPLE_SEED_OFFSET, device=device,
                                         sample_options=sample_options)
        config["figures"] = drawn
    config.update(finished=finished)
    write_json(os.path.join(out, CONFIG), config)
    last = {k: r["value"][-1] for k, r in trainer.history.items() if r["value"]}
    summary = {"out": out, "step": trainer.step, "finished": finished,
               "train_seconds": config["train_seconds"], "losses": last, "figures": drawn}
    if trainer.validation["value"]:
        summary["validation"] = trainer.validation["value"][-1]
        summary["best"] = {"step": trainer.best[1], "validation": trainer.best[0]} \
            if trainer.best else None
    return summary


def _out_of_memory(config, step=None):
    changed = {k: v for k, v in config["options"].items()}
    where = "" if step is None else f" at step {step}"
    return (f"training {config['model']!r} ran out of memory{where} with batch size "
            f"{config['batch_size']} and options {changed}; choose smaller sizes")


def _title(config):
    return f"{config['model']} on {config['data']}"
