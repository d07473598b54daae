"""The docstrings of minigen.nn's layers are part of the specification.

Every public Module subclass of minigen.nn documents its shapes (a "Shape:" section) and shows an
example; the examples run here as doctests, and the output-size formulas written in the
docstrings of Conv1d, Conv2d, ConvTranspose2d, Upsample, MaxPool2d and AvgPool2d are evaluated and
compared with the shapes that minigen and torch compute for drawn sizes, strides, paddings and
dilations (the pooling layers' ceil_mode sizes, which the formulas only describe in words, with
torch's).
"""
import doctest
import inspect
import io
import math
import re
import sys

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import minigen as mg
import minigen.nn.functional as F

LAYERS = sorted((obj for name, obj in vars(mg.nn).items()
                 if not name.startswith("_") and inspect.isclass(obj)
                 and issubclass(obj, mg.nn.Module)), key=lambda cls: cls.__name__)
# The containers of modules (and Module itself) take no tensor of their own to describe.
NO_TENSOR_INPUT = {mg.nn.Module, mg.nn.ModuleList, mg.nn.ModuleDict}


def own_docstring(cls):
    """The class's own docstring (inspect.getdoc would fall back to a base class's)."""
    doc = cls.__dict__.get("__doc__")
    assert doc, f"{cls.__name__} has no docstring of its own"
    return inspect.cleandoc(doc)


def test_every_public_layer_is_covered():
    names = {cls.__name__ for cls in LAYERS}
    assert {"Linear", "Conv2d", "ConvTranspose2d", "MaskedConv2d", "LSTM", "CrossEntropyLoss",
            "Sequential", "Module"} <= names


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_layer_docstring_has_summary_shapes_and_example(cls):
    doc = own_docstring(cls)
    summary = doc.splitlines()[0]
    assert summary.strip() and not summary.startswith((" ", ">>>")), summary
    if cls not in NO_TENSOR_INPUT:
        assert re.search(r"^Shape:\n\s+- Input", doc, re.M), f"{cls.__name__}: no Shape section"
        assert re.search(r"^\s+- Output", doc, re.M), f"{cls.__name__}: no output shape"
    assert re.search(r"^Examples?::\n", doc, re.M), f"{cls.__name__}: no Examples:: section"
    assert ">>> " in doc, f"{cls.__name__}: no doctest example"


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_layer_docstring_examples_run(cls):
    tests = doctest.DocTestFinder(recurse=False).find(
        cls, cls.__name__, globs={"mg": mg, "nn": mg.nn, "F": F})
    examples = [t for t in tests if t.docstring is cls.__dict__.get("__doc__")]
    assert examples and examples[0].examples, f"{cls.__name__}: no examples found"
    report = io.StringIO()
    runner = doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    mg.manual_seed(0)
    for test in examples:
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()


def test_function_docstring_examples_in_layer_files_run():
    """The examples of the layer files' functions (causal_mask) and methods run too."""
    class_docs = {id(cls.__dict__.get("__doc__")) for cls in LAYERS}
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for name in sorted({cls.__module__ for cls in LAYERS}):
        for test in doctest.DocTestFinder().find(sys.modules[name],
                                                 extraglobs={"mg": mg, "F": F}):
            if test.examples and id(test.docstring) not in class_docs:
                runner.run(test, out=report.write)
    assert runner.tries > 0, "no function examples found in the layer files"
    assert runner.failures == 0, report.getvalue()


# --------------------------------------------------------------- output sizes, from the docs


CONTINUED = {"+ ", "- ", "* ", "/ "}


def documented_sizes(cls, dims="HW", **names):
    """Evaluate the ``H_out = ...`` and ``W_out = ...`` formulas (``L_out = ...`` with
    dims="L") of the docstring's Shape section with ``names`` (the layer's attributes and H_in,
    W_in or L_in) bound."""
    lines = own_docstring(cls).splitlines()
    sizes = {}
    for i, line in enumerate(lines):
        match = re.match(rf"\s*([{dims}])_out = (.+)", line)
        if not match:
            continue
        expr = match.group(2)
        # a formula continues on the next line inside parentheses or with a leading operator
        while expr.count("(") > expr.count(")") or lines[i + 1].lstrip()[:2] in CONTINUED:
            i += 1
            expr += " " + lines[i].strip()
        sizes[match.group(1)] = eval(expr, {"floor": math.floor, "ceil": math.ceil}, names)
    assert set(sizes) == set(dims), f"{cls.__name__}: {' and '.join(d + '_out' for d in dims)} " \
        "formulas not found"
    return tuple(sizes[d] for d in dims)


def layer_names(m, x):
    """H_in, W_in and the layer's size arguments, an int or float one as a pair (as the
    docstrings say: "an int argument counts for both dims")."""
    as_pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    return {"H_in": x.shape[-2], "W_in": x.shape[-1], **{
        k: as_pair(getattr(m, k)) for k in ("kernel_size", "stride", "padding", "dilation",
                                            "output_padding", "scale_factor") if hasattr(m, k)}}


pairs = st.tuples(st.integers(1, 4), st.integers(1, 4))


@st.composite
def conv_settings(draw, transposed):
    kernel = draw(pairs)
    stride = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = draw(st.tuples(st.integers(0, 3), st.integers(0, 3)))
    if transposed:
        hw = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                               for s, d in zip(stride, dilation))
        return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                    output_padding=output_padding), hw
    # the dilated kernel must fit into the padded input
    hw = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 7))
               for k, d, p in zip(kernel, dilation, padding))
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation), hw


def check_sizes(mg_layer, torch_layer, batch, channels, hw, documented=True):
    x = np.zeros((max(batch, 1), channels) + tuple(hw), dtype=np.float32)
    if batch == 0:  # an unbatched (C, H, W) input
        x = x[0]
    mg_x, torch_x = mg.tensor(x), torch.from_numpy(x)
    out = mg_layer(mg_x).shape
    assert out == tuple(torch_layer(torch_x).shape)
    if documented:
        assert out[-2:] == documented_sizes(type(mg_layer), **layer_names(mg_layer, mg_x))


@given(conv_settings(transposed=False), st.integers(0, 2), st.sampled_from([1, 2]))
def test_conv2d_output_size_is_the_documented_formula_and_torchs(settings, batch, groups):
    settings, hw = settings
    check_sizes(mg.nn.Conv2d(2, 2 * groups, groups=groups, **settings),
                torch.nn.Conv2d(2, 2 * groups, groups=groups, **settings), batch, 2, hw)


@given(conv_settings(transposed=True), st.integers(0, 2))
def test_conv_transpose2d_output_size_is_the_documented_formula_and_torchs(settings, batch):
    settings, hw = settings
    s, p, d, k, op = (settings[key] for key in ("stride", "padding", "dilation", "kernel_size",
                                                "output_padding"))
    assume(all((h - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 >= 1
               for i, h in enumerate(hw)))
    check_sizes(mg.nn.ConvTranspose2d(2, 3, **settings),
                torch.nn.ConvTranspose2d(2, 3, **settings), batch, 2, hw)


@given(conv_settings(transposed=False), st.integers(0, 2), st.sampled_from([1, 2]))
def test_conv1d_output_size_is_the_documented_formula_and_torchs(settings, batch, groups):
    settings, hw = settings
    settings = {k: v[1] for k, v in settings.items()}  # the W half of the 2-D settings
    x = np.zeros((max(batch, 1), 2, hw[1]), dtype=np.float32)
    x = x[0] if batch == 0 else x
    mine = mg.nn.Conv1d(2, 2 * groups, groups=groups, **settings)
    out = mine(mg.tensor(x)).shape
    assert out == tuple(torch.nn.Conv1d(2, 2 * groups, groups=groups, **settings)(
        torch.from_numpy(x)).shape)
    assert out[-1:] == documented_sizes(mg.nn.Conv1d, "L", L_in=x.shape[-1], **{
        k: getattr(mine, k) for k in ("kernel_size", "stride", "padding", "dilation")})


@given(st.tuples(st.integers(1, 9), st.integers(1, 9)),
       st.tuples(st.floats(0.5, 3.0), st.floats(0.5, 3.0)), st.sampled_from(["nearest",
                                                                             "bilinear"]))
def test_upsample_output_size_is_the_documented_formula_and_torchs(hw, scale, mode):
    assume(all(math.floor(h * f) >= 1 for h, f in zip(hw, scale)))
    check_sizes(mg.nn.Upsample(scale_factor=scale, mode=mode),
                torch.nn.Upsample(scale_factor=scale, mode=mode), 1, 1, hw)


@given(st.data(), st.sampled_from(["max", "avg"]), st.booleans(), st.integers(0, 2))
def test_pool2d_output_size_is_the_documented_formula_and_torchs(data, kind, ceil_mode, batch):
    kernel = data.draw(pairs)
    stride = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
    settings = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if kind == "max":
        settings["dilation"] = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    if data.draw(st.booleans()):  # int arguments, for both dims
        settings.update({k: v[0] for k, v in settings.items() if isinstance(v, tuple)})
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    dilation = pair(settings.get("dilation", 1))
    hw = tuple(max(1, d * (k - 1) + 1 - 2 * p) + data.draw(st.integers(0, 7)) for k, d, p in
               zip(pair(settings["kernel_size"]), dilation, pair(settings["padding"])))
    layers = {"max": (mg.nn.MaxPool2d, torch.nn.MaxPool2d),
              "avg": (mg.nn.AvgPool2d, torch.nn.AvgPool2d)}[kind]
    check_sizes(layers[0](**settings), layers[1](**settings), batch, 2, hw,
                documented=not ceil_mode)
