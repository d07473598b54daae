"""The API reference, docs/api.md, generated from the code: every public name of minigen's
user-facing modules with its signature and the first paragraph of its docstring.

    python -m minigen.apidoc            write docs/api.md
    python -m minigen.apidoc --check    exit 1 if docs/api.md differs from the code, or if a
                                        public name has no docstring (the names are listed)

A module's public names are its ``__all__`` where it has one, else the functions and classes
defined in minigen that it binds to names without a leading underscore. A name already listed
in an earlier section (``Tensor`` in nn.functional, ``no_grad`` in nn.init) is not repeated.
Classes are listed with their constructor's signature; ``Tensor`` and ``nn.Module`` also with
their public methods and properties, which are most of the API. Names are sorted, so the file
changes only when the API or a docstring does.
"""
import argparse
import importlib
import inspect
import re
import sys
import types
from pathlib import Path

SECTIONS = [
    ("minigen", "tensors, creation, math and joins (also Tensor methods below)"),
    ("minigen.autograd", "gradients"),
    ("minigen.nn", "modules and layers"),
    ("minigen.nn.functional", "the functional API (as F)"),
    ("minigen.nn.init", "parameter initialization"),
    ("minigen.optim", "optimizers, averaging, clipping"),
    ("minigen.optim.lr_scheduler", "learning-rate schedules"),
    ("minigen.distributions", "probability distributions"),
    ("minigen.metrics", "sample-quality and divergence metrics"),
    ("minigen.metrics.classifier", "the metrics' feature networks"),
]
EXPANDED = ("minigen.Tensor", "minigen.nn.Module")  # classes whose members are listed too
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def public_names(module, seen=()):
    """The public (name, object) pairs of ``module``, sorted by name, leaving out the objects
    in ``seen`` (ids of objects listed before)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(obj) or inspect.isclass(obj))
                 and getattr(obj, "__module__", "").startswith("minigen")]
    pairs = [(n, getattr(module, n)) for n in sorted(names)]
    return [(n, obj) for n, obj in pairs
            if not isinstance(obj, types.ModuleType) and id(obj) not in seen]


def members(cls):
    """The public methods and properties that ``cls`` defines or inherits from minigen's own
    classes (Tensor's in-place methods live in a mixin), sorted by name."""
    defined = {}
    for base in reversed(cls.__mro__):
        if base.__module__.startswith("minigen"):
            defined.update(vars(base))
    return [(n, obj) for n, obj in sorted(defined.items()) if not n.startswith("_")
            and (inspect.isfunction(obj) or isinstance(obj, (property, staticmethod,
                                                             classmethod)))]


def signature(obj, method=False):
    """``(a, b=1)`` for a function or a class's constructor; ``self`` is left out of methods.
    A default value whose repr holds a memory address is shown by its name (a function) or
    its type (an object), so that the text is the same from run to run."""
    if isinstance(obj, property):
        return ""
    if isinstance(obj, (staticmethod, classmethod)):
        obj, method = obj.__func__, isinstance(obj, classmethod)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    if method:
        sig = sig.replace(parameters=list(sig.parameters.values())[1:])
    text = re.sub(r"<(?:function|class|built-in function) ([\w.<>]+) at 0x[0-9a-f]+>", r"\1",
                  str(sig))
    return re.sub(r"<([\w.]+) object at 0x[0-9a-f]+>", r"<\1>", text)


def own_doc(obj):
    """The docstring written for ``obj`` itself (a class does not inherit its base's)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else ""


def summary(obj):
    """The first paragraph of the docstring, on one line."""
    return " ".join(own_doc(obj).split("\n\n")[0].split())


def entries():
    """Every documented name as (section, qualified name, signature, summary, has_doc)."""
    seen, out = set(), []
    for section, _ in SECTIONS:
        module = importlib.import_module(section)
        for name, obj in public_names(module, seen):
            seen.add(id(obj))
            qualified = f"{section}.{name}"
            out.append((section, qualified, signature(obj), summary(obj), bool(own_doc(obj))))
            if qualified in EXPANDED:
                for m, member in members(obj):
                    out.append((section, f"{qualified}.{m}", signature(member, method=True),
                                summary(member), bool(own_doc(member))))
    return out


def render():
    """The text of docs/api.md."""
    lines = ["# minigen API reference", "",
             "Generated from the docstrings by `python -m minigen.apidoc`; do not edit by hand.",
             "Each entry: the name, its signature, and the first paragraph of its docstring.", ""]
    rows = entries()
    for section, title in SECTIONS:
        lines += [f"## {section}: {title}", ""]
        for where, name, sig, text, _ in rows:
            if where == section:
                lines.append(f"- `{name}{sig}`" + (f": {text}" if text else ""))
        lines.append("")
    return "\n".join(lines)


def missing_docstrings():
    """The qualified names of public names that have no docstring of their own."""
    return [name for _, name, _, _, has_doc in entries() if not has_doc]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigen.apidoc", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="where to write")
    parser.add_argument("--check", action="store_true",
                        help="compare with --out instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    if not args.check:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out} ({text.count(chr(10) + '- ')} names)")
        return 0
    problems = []
    if not args.out.exists() or args.out.read_text() != text:
        problems.append(f"{args.out} is out of date; run python -m minigen.apidoc")
    missing = missing_docstrings()
    if missing:
        problems.append(f"{len(missing)} public names have no docstring: " + ", ".join(missing))
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
