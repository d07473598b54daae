"""docs/api.md is generated from the code (minigen/apidoc.py): it must be what the generator
writes today, so that the reference never drifts from the signatures and docstrings; and every
public name it lists has a docstring of its own."""
import difflib
import subprocess
import sys

from minigen import apidoc


def test_api_reference_is_up_to_date_with_the_code():
    expected = apidoc.render()
    actual = apidoc.DEFAULT_PATH.read_text() if apidoc.DEFAULT_PATH.exists() else ""
    diff = "\n".join(list(difflib.unified_diff(actual.splitlines(), expected.splitlines(),
                                               "docs/api.md", "generated", lineterm=""))[:40])
    assert actual == expected, f"docs/api.md is out of date; run python -m minigen.apidoc\n{diff}"


def test_every_public_name_has_a_docstring():
    missing = apidoc.missing_docstrings()
    assert not missing, f"{len(missing)} public names have no docstring: {', '.join(missing)}"


def test_api_reference_lists_tensor_methods_layers_and_functional_api_with_signatures():
    text = apidoc.render()
    for line in ("- `minigen.Tensor.contiguous()`: This tensor if its array is in C order",
                 "- `minigen.nn.functional.pad(input, pad, mode='constant', value=None)`",
                 "- `minigen.optim.Adam(", "- `minigen.nn.Module.state_dict(",
                 "- `minigen.distributions.Normal(", "- `minigen.metrics.frechet_distance("):
        assert line in text, f"docs/api.md lacks {line!r}"
    assert " at 0x" not in text, "a default value's repr holds a memory address"


def test_first_paragraph_of_a_docstring_is_joined_on_one_line():
    def f(x, k=apidoc.summary):
        """First line
        continues here.

        Second paragraph."""
    assert apidoc.summary(f) == "First line continues here."
    assert apidoc.signature(f) == "(x, k=summary)"


def test_check_mode_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "api.md"
    stale.write_text("# stale\n")
    run = subprocess.run([sys.executable, "-m", "minigen.apidoc", "--check", "--out", str(stale)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "out of date" in run.stderr
