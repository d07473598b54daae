"""The command line: ``minigen list | train | sample | evaluate`` (also ``python -m minigen``).

    minigen list                                   models and datasets, one line each
    minigen list MODEL                             a model's options and their defaults
    minigen train MODEL [--data NAME] [--steps N] [--batch-size B] [--lr LR] [--seed S]
                        [--device cpu|cuda] [--out DIR] [--resume] [--force] [--set KEY=VALUE ...]
    minigen sample DIR [--n N] [--label K] [--out FILE.png] [--MODEL-OPTION VALUE ...]
    minigen evaluate DIR [--n N] [--data NAME]     prints JSON, writes DIR/metrics.json

Mistakes (an unknown name, a bad value, the same flag twice, a missing or damaged run, a run that
would be overwritten) end with one sentence on stderr and exit status 2, never with a traceback;
Ctrl-C during training saves a checkpoint and exits with 130; a loss that becomes NaN or inf
stops the run with a sentence and exit status 3. Long waits (training, a sampler's many steps)
show a bar on a terminal and plain progress lines elsewhere. ``sample`` and ``evaluate`` draw with
the model's fast sampler (DDPM: DDIM-50, eta = 1); ``--plain-sampler`` gives sample()'s own
defaults (DDPM: the full ancestral chain).
"""
import argparse
import contextlib
import inspect
import json
import os
import sys

EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
REPEATABLE = {"--set"}


class UsageError(Exception):
    """A mistake of the user's, reported as one sentence with exit status 2."""


def _models():
    from minigen import models
    return models


# ------------------------------------------------------------------------------------------ list
def cmd_list(args):
    from minigen import data as datasets
    models = _models()
    if args.model is None:
        width = max(len(n) for n in models.names() + datasets.names()) + 2
        print("models:")
        for name in models.names():
            print(f"  {name:<{width}}{models.describe(name)}")
        print("datasets:")
        for name in datasets.names():
            print(f"  {name:<{width}}{datasets.describe(name)}")
        return 0
    name = _check_model(args.model)
    print(f"{name}: {models.describe(name)}")
    options, helps = models.options(name), models.option_help(name)
    print("options (minigen train --set KEY=VALUE):" if options else "options: none")
    width = max([len(k) + len(repr(v)) for k, v in options.items()] + [0]) + 4
    for key, default in options.items():
        print(f"  {f'{key}={_show(default)}':<{width}}{helps[key]}")
    defaults = models.train_defaults(name, "digits")
    print("training defaults on digits: " + ", ".join(f"{k}={v}" for k, v in defaults.items()))
    extra = _sample_parameters(name)
    if extra is not None:
        print("sample options (minigen sample DIR --KEY VALUE): "
              + ", ".join(f"{k}={_show(v)}" for k, v in extra.items()))
    return 0


def _sample_parameters(name):
    """The keyword options of the model's sample() beyond n and y, with their defaults (None when
    the model does not sample or cannot be built on the digits, e.g. a model of domain pairs)."""
    models = _models()
    try:
        model = models.create(name, "digits")
    except ValueError:
        return None
    if not isinstance(model, models.SamplingModel):
        return None
    parameters = inspect.signature(model.sample).parameters.values()
    return {p.name: p.default for p in parameters if p.name not in ("n", "y")
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)} or None


def _show(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def _check_model(name):
    models = _models()
    if name not in models.names():
        raise UsageError(f"unknown model {name!r}; valid models are {', '.join(models.names())}")
    return name


# ----------------------------------------------------------------------------------------- train
def parse_sets(model, items):
    """{key: typed value} from ['key=value', ...], checked against the model's options."""
    models = _models()
    values = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            values[key.strip()] = models.parse_option(model, key.strip(), text)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return values


def cmd_train(args):
    from minigen.train import train
    import minigen as mg
    model = _check_model(args.model)
    with mg.profile() if args.profile else contextlib.nullcontext() as prof:
        summary = train(model, data=args.data, steps=args.steps, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, device=args.device, out=args.out,
                        resume=args.resume, force=args.force, options=parse_sets(model, args.set),
                        checkpoint_every=args.checkpoint_every,
                        validate_every=args.validate_every,
                        progress=False if args.quiet else None,
                        detect_anomaly=args.detect_anomaly)
    if args.profile:  # the whole command: training steps, checkpoints, the final samples
        print(prof.table(), file=sys.stderr)
    losses = ", ".join(f"{k} {v:.4g}" for k, v in summary["losses"].items())
    if not summary["finished"]:
        print(f"stopped at step {summary['step']}; the checkpoint is in {summary['out']}; continue "
              f"with: minigen train {model} --resume --out {summary['out']}")
        return EXIT_INTERRUPTED
    print(f"trained {model} for {summary['step']} steps in {summary['train_seconds']:.1f} s "
          f"({losses}); run directory {summary['out']}")
    if summary.get("best"):
        print(f"best validation {summary['best']['validation']:.4g} at step "
              f"{summary['best']['step']} (checkpoint_best.npz, used by sample and evaluate)")
    for name, what in summary["figures"].items():
        print(f"{name}: {what}")
    return 0


# ---------------------------------------------------------------------------------------- sample
def sample_options(model, extra):
    """Keyword options for ``model.sample`` from leftover arguments ['--steps', '50', '--x=1']."""
    from minigen.models import parse_value
    signature = inspect.signature(model.sample)
    params = {k: p for k, p in signature.parameters.items() if k not in ("n", "y")}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = {k: p for k, p in params.items() if p.kind is not p.VAR_KEYWORD}
    valid = ", ".join(f"--{k}" for k in named) or "none"
    kwargs, i = {}, 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            raise UsageError(f"unexpected argument {token!r}; this model's sample options "
                             f"are {valid}")
        key, sep, text = token[2:].partition("=")
        if not sep:
            if i + 1 >= len(extra):
                raise UsageError(f"sample option --{key} needs a value")
            text, i = extra[i + 1], i + 1
        i += 1
        name = key.replace("-", "_")
        if name not in named and not open_ended:
            raise UsageError(f"{type(model).__name__}.sample has no option --{key}; its options "
                             f"are {valid}")
        default = named[name].default if name in named else None
        default = None if default is inspect.Parameter.empty else default
        try:
            kwargs[name] = parse_value(default, text)
        except ValueError as exc:
            raise UsageError(f"sample option --{key}: {exc}") from None
    return kwargs


def cmd_sample(args, extra):
    import numpy as np

    import minigen as mg
    from minigen import data as datasets
    from minigen.train import figures, load_run, plots, sampling
    from minigen.train.progress import reporting
    from minigen.train.runner import check_device
    models = _models()
    device = check_device(args.device)
    model, config = load_run(args.run, device=device, checkpoint=args.checkpoint)
    if not isinstance(model, models.SamplingModel):
        return _sample_other(args, extra, model, config, device)
    kwargs = sample_options(model, extra)
    if args.n < 1:
        raise UsageError(f"--n must be at least 1, got {args.n}")
    dataset = datasets.load(config["data"], "test")
    labels = None
    if args.label is not None:
        if not model.conditional:
            raise UsageError(f"model {config['model']!r} of {args.run} is unconditional; "
                             f"leave out --label")
        if not 0 <= args.label < dataset.num_classes:
            raise UsageError(f"--label must be in 0..{dataset.num_classes - 1} for "
                             f"{config['data']!r}, got {args.label}")
        labels = np.full(args.n, args.label, dtype=np.int64)
    out = args.out or os.path.join(args.run, figures.SAMPLES)
    _check_picture_path(out)
    y = None if labels is None else mg.tensor(labels, device=device)
    options = figures.sampler_options(model, kwargs, plain=args.plain_sampler)
    with sampling(model, seed=args.seed), _sample_option_errors(kwargs), \
            reporting(False if args.quiet else None):
        samples = model.sample(args.n, y=y, **options)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    title = f"{config['model']} on {config['data']}"
    if labels is not None:
        title += f", label {args.label}"
    plots.plot_samples(samples, out, dataset, title=title)
    print(f"wrote {args.n} samples to {out} ({model.describe_sampler(**options)}; "
          f"{config['checkpoint']['file']}, step {config['checkpoint']['step']})")
    return 0


def _sample_other(args, extra, model, config, device):
    """``minigen sample`` of a model that does not sample: a translator's translations.png."""
    from minigen import data as datasets
    from minigen.train import figures, sampling
    models = _models()
    if not isinstance(model, models.TranslationModel):
        kinds = ", ".join(c.__name__ for c in models.capabilities(model)) or "no capabilities"
        raise UsageError(f"model {config['model']!r} draws no samples (it declares {kinds}); "
                         f"use minigen evaluate {args.run} for its metrics")
    if extra:
        raise UsageError(f"unexpected arguments {' '.join(extra)}; a translation model takes "
                         f"no sample options")
    folder = args.out or args.run
    if os.path.splitext(folder)[1]:
        raise UsageError(f"--out of a translation model is a folder for "
                         f"{figures.TRANSLATIONS}, got {folder}")
    os.makedirs(folder, exist_ok=True)
    dataset = datasets.load(config["data"], "train")
    with sampling(model, seed=args.seed):
        written = figures.draw_figures(model, None, folder, dataset, config["model"],
                                       seed=args.seed, device=device)
    print(f"wrote {os.path.join(folder, figures.TRANSLATIONS)}: {written[figures.TRANSLATIONS]}")
    return 0


@contextlib.contextmanager
def _sample_option_errors(kwargs):
    """A ValueError from sample() given command-line options is a usage error: the model refused
    a value (DDIM steps beyond T, an unknown spacing), so it exits 2 with the model's sentence."""
    try:
        yield
    except ValueError as exc:
        if not kwargs:
            raise
        given = " ".join(f"--{k} {v}" for k, v in kwargs.items())
        raise UsageError(f"sampling with {given}: {exc}") from None


def _check_picture_path(out):
    """Refuse, before sampling, a --out that matplotlib cannot write as a picture."""
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    extension = os.path.splitext(out)[1].lower().lstrip(".")
    if extension not in formats:
        raise UsageError(f"--out {out} is not a picture file name; use a name ending in .png "
                         f"(or {', '.join('.' + f for f in sorted(formats) if f != 'png')})")
    if os.path.isdir(out):
        raise UsageError(f"--out {out} is a folder; give a file name such as "
                         f"{os.path.join(out, 'samples.png')}")


# -------------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args, extra):
    from minigen.train import load_run
    from minigen.train.evaluation import evaluate_model
    from minigen.train.progress import reporting
    from minigen.train.runner import check_device
    models = _models()
    device = check_device(args.device)
    model, config = load_run(args.run, device=device, checkpoint=args.checkpoint)
    if isinstance(model, models.SamplingModel):
        kwargs = sample_options(model, extra)
    elif extra:
        raise UsageError(f"unexpected arguments {' '.join(extra)}; model {config['model']!r} "
                         f"draws no samples, so it takes no sample options")
    else:
        kwargs = {}
    with _sample_option_errors(kwargs), reporting(False if args.quiet else None):
        result = evaluate_model(model, config, args.run, n=args.n, data=args.data, device=device,
                                seed=args.seed, sample_options=kwargs,
                                plain_sampler=args.plain_sampler, iwae_k=args.iwae_k)
    print(json.dumps(result, indent=2))
    if result.get("replaced"):
        print(f"note: {result['replaced']}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------- parser
def build_parser():
    parser = argparse.ArgumentParser(
        prog="minigen", description="Train, sample and evaluate the generative models of the "
                                    "lecture (minigen: a from-scratch NumPy framework).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("list", help="list models and datasets, or one model's options",
                            description="Without MODEL: every model and dataset, one line each. "
                                        "With MODEL: its options (for --set) and their defaults.")
    p.add_argument("model", nargs="?", metavar="MODEL", help="a model name")

    p = commands.add_parser("train", help="train a model into a run directory",
                            description="Train MODEL on a dataset; writes config.json, "
                                        "checkpoint.npz, loss.png and samples.png into --out.")
    p.add_argument("model", metavar="MODEL", help="model name (see minigen list)")
    p.add_argument("--data", metavar="NAME", help="dataset name (default digits; see minigen list)")
    p.add_argument("--steps", type=int, metavar="N", help="training steps (default: the model's)")
    p.add_argument("--batch-size", type=int, metavar="B", help="batch size (default: the model's)")
    p.add_argument("--lr", type=float, metavar="LR", help="learning rate (default: the model's)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default cpu")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/MODEL-DATA)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    p.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a model option (repeatable; minigen list MODEL shows them)")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="steps between checkpoints (default a tenth of the steps)")
    p.add_argument("--validate-every", type=int, metavar="N",
                   help="steps between validations, for models that declare a validation "
                        "measure (default: --checkpoint-every)")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="check every op for NaN/inf (slow): names the op where a loss breaks")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    p.add_argument("--profile", action="store_true",
                   help="print the time per op class (forward, backward) on stderr at the end")

    p = commands.add_parser("sample", help="draw samples from a trained run into a PNG",
                            description="Draw samples from the run in DIR. Further --OPTION VALUE "
                                        "pairs go to the model's sample() (e.g. --steps 50 "
                                        "--guidance 2 for ddpm).")
    p.add_argument("run", metavar="DIR", help="run directory written by minigen train")
    p.add_argument("--n", type=int, default=64, metavar="N", help="number of samples (default 64)")
    p.add_argument("--label", type=int, metavar="K", help="class label (conditional models)")
    p.add_argument("--out", metavar="FILE.png", help="output picture (default DIR/samples.png)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default cpu")
    _add_run_reading(p)

    p = commands.add_parser("evaluate", help="compute a run's metrics into DIR/metrics.json",
                            description="Sample the run in DIR and compute the metrics that apply "
                                        "to its model and data; prints them as JSON and writes "
                                        "DIR/metrics.json. Further --OPTION VALUE pairs go to the "
                                        "model's sample() (e.g. --steps 50 for DDIM-50 with ddpm).")
    p.add_argument("run", metavar="DIR", help="run directory written by minigen train")
    p.add_argument("--n", type=int, metavar="N",
                   help="number of samples (default 2000 for 2-D data, 1000 for images)")
    p.add_argument("--data", metavar="NAME", help="dataset to compare with (default: the run's)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default cpu")
    p.add_argument("--iwae-k", type=int, metavar="K",
                   help="importance samples of the IWAE bound (latent-variable models; "
                        "default 1000)")
    _add_run_reading(p)
    return parser


def _add_run_reading(p):
    """The options that sample and evaluate share: which checkpoint, which sampler, quiet."""
    p.add_argument("--checkpoint", choices=["best", "last"],
                   help="checkpoint_best.npz or checkpoint.npz (default: best when the run "
                        "validated, else last)")
    p.add_argument("--plain-sampler", action="store_true",
                   help="sample() with its own defaults instead of the model's fast sampler "
                        "(ddpm: the full ancestral chain of T steps instead of DDIM-50, eta 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")


def repeated_flag(argv):
    """The first flag given twice in ``argv`` with its two values, or None (--set repeats)."""
    seen = {}
    for i, token in enumerate(argv):
        if not token.startswith("--") or token == "--":
            continue
        flag, sep, value = token.partition("=")
        if not sep:
            following = argv[i + 1] if i + 1 < len(argv) else ""
            value = "" if following.startswith("--") else following
        if flag in seen and flag not in REPEATABLE:
            return flag, seen[flag], value
        seen[flag] = value
    return None


def main(argv=None):
    from minigen.train import CheckpointError, RunError, TrainingDiverged
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("sample", "evaluate"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    twice = repeated_flag(argv)
    if twice is not None:
        flag, first, second = twice
        values = f" ({first} and {second})" if first or second else ""
        print(f"minigen {args.command}: error: {flag} is given twice{values}; give it once",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "list":
            return cmd_list(args)
        if args.command == "train":
            return cmd_train(args)
        if args.command == "sample":
            return cmd_sample(args, extra)
        return cmd_evaluate(args, extra)
    except TrainingDiverged as exc:
        print(f"minigen {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except (UsageError, RunError, CheckpointError) as exc:
        print(f"minigen {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a folder that cannot be created or written, a full disk
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"minigen {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
