"""The tensor ops a torch user reaches for are documented as torch documents them: a summary line
naming the torch function, then the arguments, the shape rule and the gradient; the `>>>`
examples run as doctests; and the Tensor method reads the same docstring as the function."""
import doctest
import io

import pytest

import minigen as mg
import minigen.nn.functional as F

FUNCTIONS = {  # name: the public function (mg.name unless given)
    name: getattr(mg, name) for name in (
        "cumsum cumprod prod flip roll tril triu gather scatter scatter_add index_select "
        "masked_fill sort argsort topk argmax argmin einsum std maximum minimum round floor "
        "ceil trunc sign isnan isinf isfinite all any split chunk sin cos full full_like eye "
        "linspace empty zeros ones arange").split()
}
FUNCTIONS.update({"F.conv1d": F.conv1d, "F.max_pool2d": F.max_pool2d,
                  "F.avg_pool2d": F.avg_pool2d})
METHODS = ["to", "float", "double", "long", "int", "bool"]
NO_GRADIENT = {"argsort", "argmax", "argmin", "isnan", "isinf", "isfinite", "all", "any",
               "full", "full_like", "eye", "linspace", "empty", "zeros", "ones", "arange"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_op_has_a_torch_style_docstring(name):
    doc = FUNCTIONS[name].__doc__ or ""
    summary = doc.strip().split("\n")[0]
    torch_name = name.replace("F.", "torch.nn.functional.") if name.startswith("F.") \
        else f"torch.{name}"
    assert summary.startswith(torch_name + ":"), f"{name}: the summary names {torch_name}"
    assert len(doc.split()) >= 20, f"{name}: the docstring says too little: {doc!r}"
    if name not in NO_GRADIENT:
        assert "gradient" in doc.lower() or "differentiable" in doc.lower(), \
            f"{name}: the docstring does not say what the gradient is"


@pytest.mark.parametrize("name", [n for n in sorted(FUNCTIONS) if not n.startswith("F.")
                                  and hasattr(mg.Tensor, n)])
def test_tensor_method_shares_the_docstring_of_its_function(name):
    assert getattr(mg.Tensor, name).__doc__ == FUNCTIONS[name].__doc__


@pytest.mark.parametrize("name", METHODS)
def test_cast_methods_have_docstrings(name):
    assert "mg." in (getattr(mg.Tensor, name).__doc__ or "") or name == "to"
    assert len((getattr(mg.Tensor, name).__doc__ or "").split()) >= 8


def test_docstring_examples_run():
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    report = io.StringIO()
    objects = list(FUNCTIONS.items()) + [(f"Tensor.{n}", getattr(mg.Tensor, n)) for n in METHODS]
    for name, fn in objects:
        for test in doctest.DocTestFinder(recurse=False).find(fn, name,
                                                              globs={"mg": mg, "F": F}):
            runner.run(test, out=report.write)
    assert runner.tries >= 30, f"only {runner.tries} examples found"
    assert runner.failures == 0, report.getvalue()
