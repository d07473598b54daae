"""The model registry: every model that ``minigen train NAME`` can train, by name.

    from minigen import models
    models.names()                            # ['gaussian', 'pixelcnn', ...]
    models.options("gaussian")                # {'dequantize': True}: option -> default
    model = models.create("gaussian", data="ring8", dequantize=False)

A model file registers a factory that builds the model for a dataset (the train split, so the
factory can read its shape, number of classes and pixel levels):

    @register("vae", help="variational autoencoder (§3)",
              options={"latent_dim": (16, "size of z", (1, 4096)),
                       "beta": (1.0, "weight of the KL term")},
              train=lambda data: {"steps": 3000, "batch_size": 128, "lr": 1e-3})
    def build(dataset, latent_dim, beta):
        return VAE(dataset.shape, latent_dim, beta)

``train`` holds the model's tested training defaults (steps, batch_size, lr), as a dict or as a
function of the dataset name; such a function asks ``train_split(name)`` what kind of data it is
(``is_image``, ``shape``, ``levels``, ``num_classes``) rather than matching names.

An option may declare a third element, its range (low, high): a value outside it (or any item of
a list value) is refused before the factory allocates anything, so a typo like
``channels=30000`` is a sentence and not a machine swapping itself to death.

Every module in this folder is imported on the first call to ``names()`` or ``create()``, so a
new model file needs no other edit to be listed.
"""
import functools
import importlib
import math
import numbers
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Dict, Tuple

from .base import (AdversarialModel, ClassifierModel, GenerativeModel, GrowingModel,
                   LatentVariableModel, LikelihoodModel, SamplingModel, TranslationModel,
                   capabilities, check_declared, grow_to, progress, reporting_progress)

__all__ = ["register", "Entry", "names", "describe", "options", "option_help", "option_ranges",
           "parse_option", "train_defaults", "train_split", "create", "GenerativeModel",
           "SamplingModel", "LikelihoodModel",
           "LatentVariableModel", "AdversarialModel", "TranslationModel", "ClassifierModel",
           "GrowingModel", "capabilities", "check_declared", "grow_to", "progress",
           "reporting_progress"]

# The order of ``minigen list``: the lecture's order, then the baseline; others follow by name.
ORDER = ["pixelcnn", "gated-pixelcnn", "pixelcnn++", "pixelrnn-row", "pixelrnn-diag", "vae", "gan",
         "cgan", "wgan", "wgan-gp", "progan", "cyclegan", "dann", "ddpm", "gaussian"]

TRAIN_KEYS = ("steps", "batch_size", "lr")
FALLBACK_TRAIN = {"steps": 1000, "batch_size": 64, "lr": 1e-3}
_NOT_MODELS = {"base"}


@dataclass
class Entry:
    name: str
    factory: Callable
    help: str
    options: Dict[str, Tuple] = field(default_factory=dict)   # key -> (default, help[, range])
    train: object = None


_REGISTRY = {}
_discovered = [False]


def register(name, *, help, options=None, train=None):
    """Decorator: register ``factory(dataset, **options)`` as model ``name``."""
    options = dict(options or {})
    for key, value in options.items():
        if not (isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[1], str)
                and (len(value) == 2 or _is_range(value[2]))):
            raise ValueError(f"option {key!r} of model {name!r} must be (default, help) or "
                             f"(default, help, (low, high)), got {value!r}")

    def decorate(factory):
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = Entry(name, factory, help, options, train)
        return factory
    return decorate


def _discover():
    """Import every model module of this package once (each registers itself)."""
    if not _discovered[0]:
        _discovered[0] = True
        for info in pkgutil.iter_modules(__path__):
            if info.name not in _NOT_MODELS and not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")


def _entry(name):
    _discover()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid names are {', '.join(names())}")
    return _REGISTRY[name]


def names():
    """The registered model names, in the order ``minigen list`` shows them."""
    _discover()
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(_REGISTRY, key=lambda n: (rank.get(n, len(ORDER)), n))


def describe(name):
    """The one-line description of model ``name``."""
    return _entry(name).help


def options(name):
    """Option -> default value of model ``name`` (what ``--set KEY=VALUE`` may change)."""
    return {key: spec[0] for key, spec in _entry(name).options.items()}


def option_help(name):
    """Option -> one-line help of model ``name`` (with its range, where one is declared)."""
    def text(spec):
        return spec[1] if len(spec) == 2 else f"{spec[1]}; {spec[2][0]}..{spec[2][1]}"
    return {key: text(spec) for key, spec in _entry(name).options.items()}


def option_ranges(name):
    """Option -> (low, high) of the options of model ``name`` that declare a range."""
    return {key: spec[2] for key, spec in _entry(name).options.items() if len(spec) == 3}


def _is_range(bounds):
    return (isinstance(bounds, tuple) and len(bounds) == 2
            and all(isinstance(b, numbers.Real) for b in bounds) and bounds[0] <= bounds[1])


def check_range(name, key, bounds, value):
    """Refuse, with a sentence, a number (or any item of a list) outside ``bounds``."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    for item in items:
        if isinstance(item, numbers.Real) and not isinstance(item, bool) \
                and not bounds[0] <= item <= bounds[1]:
            raise ValueError(f"option {key!r} of model {name!r} must be in "
                             f"{bounds[0]}..{bounds[1]}, got {value!r}")


@functools.lru_cache(maxsize=8)
def train_split(data):
    """The train split of dataset ``data`` (loaded once), or None when it cannot be loaded (the
    trainer then reports why). For training defaults keyed by the kind of data."""
    from minigen import data as datasets
    try:
        return datasets.load(data, "train")
    except (ValueError, OSError):
        return None


def train_defaults(name, data):
    """The tested training defaults {steps, batch_size, lr} of model ``name`` on ``data``."""
    train = _entry(name).train
    values = train(data) if callable(train) else (train or {})
    unknown = set(values) - set(TRAIN_KEYS)
    if unknown:
        raise ValueError(f"training defaults of model {name!r} have unknown keys "
                         f"{sorted(unknown)}; expected {list(TRAIN_KEYS)}")
    return {**FALLBACK_TRAIN, **values}


def parse_option(name, key, text):
    """The value of option ``key`` of model ``name`` from the string ``text``, typed as its default.

    bool: true/false/yes/no/1/0; int; float; str; tuple/list: comma-separated items typed as the
    default's first item ('64,128'); a default of None accepts 'none', numbers or text.
    """
    defaults = options(name)
    if key not in defaults:
        valid = ", ".join(defaults) or "(this model has no options)"
        raise ValueError(f"model {name!r} has no option {key!r}; valid options are {valid}")
    try:
        return parse_value(defaults[key], text)
    except ValueError as exc:
        raise ValueError(f"option {key!r} of model {name!r}: {exc}") from None


def parse_value(default, text):
    """``text`` converted to the type of ``default`` (see parse_option)."""
    text = text.strip()
    if isinstance(default, bool):
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, (tuple, list)):
        items = [t for t in text.strip("()[]").split(",") if t.strip()]
        item_default = default[0] if len(default) else ""
        return type(default)(parse_value(item_default, t) for t in items)
    if default is None:
        if text.lower() == "none":
            return None
        for kind in (int, float):
            try:
                return check_finite(kind(text))
            except ValueError as exc:
                if "finite" in str(exc):
                    raise
        return text
    if isinstance(default, (int, float)):
        try:
            value = type(default)(text)
        except ValueError:
            raise ValueError(f"expected {type(default).__name__}, got {text!r}") from None
        return check_finite(value)
    return text


def check_finite(value):
    """``value``, refused with a sentence when it is a NaN or infinite float."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def check_type(name, key, default, value):
    """Refuse, with a sentence, an option value of another kind than its default: a bool for a
    bool, a whole number for an int, a finite number for a float, non-empty text for a str and a
    non-empty sequence for a tuple (a default of None takes anything)."""
    def refuse(kind):
        raise ValueError(f"option {key!r} of model {name!r} must be {kind}, got {value!r}")
    if default is None:
        return
    if isinstance(default, bool):
        if not isinstance(value, bool):
            refuse("true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            refuse("a whole number")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not math.isfinite(value):
            refuse("a finite number")
    elif isinstance(default, str):
        if not isinstance(value, str) or not value.strip():
            refuse("a non-empty string")
    elif isinstance(default, (tuple, list)):
        if not isinstance(value, (tuple, list)) or not value:
            refuse("a non-empty comma-separated list")
        for item in value:
            check_type(name, key, default[0] if default else None, item)


def create(name, data="digits", **overrides):
    """The model that ``minigen train NAME --data DATA`` trains, with the same defaults.

    ``data`` is a dataset name (its train split is loaded to read shapes and classes) or a loaded
    ``minigen.data.Dataset``. ``overrides`` change options; an unknown key raises ValueError.
    """
    entry = _entry(name)
    values = options(name)
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        valid = ", ".join(values) or "(this model has no options)"
        raise ValueError(f"model {name!r} has no option(s) {', '.join(unknown)}; "
                         f"valid options are {valid}")
    ranges = option_ranges(name)
    for key, value in overrides.items():
        check_type(name, key, values[key], value)
        if key in ranges:
            check_range(name, key, ranges[key], value)
    values.update(overrides)
    if isinstance(data, str):
        from minigen import data as datasets
        data = datasets.load(data, "train")
    try:
        return entry.factory(data, **values)
    except MemoryError:
        changed = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "its defaults"
        raise ValueError(f"model {name!r} with {changed} needs more memory than this machine "
                         f"has; choose smaller sizes") from None
