"""Every option of every registered model, given a bad value at the command line (0, negative,
NaN, inf, huge, the wrong type, empty), ends in exit status 2 and one sentence, or in a valid run;
never in a traceback. Runs stop after one step, without the end-of-run pictures, to stay fast,
and under a cap on the address space, so that a size the factory lets through ends in the
trainer's "needs more memory" sentence instead of swapping the machine."""
import contextlib
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigen import models
from minigen.train import figures, plots
from test_cli import run_cli
from test_models_contract import smallest_dataset

MEMORY_CAP = 3 * 2 ** 30      # bytes beyond what the test process already maps


@contextlib.contextmanager
def capped_memory():
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + MEMORY_CAP, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


BAD = ["0", "-1", "-0.5", "nan", "inf", "-inf", "1000000000000", "1e308", "abc", "", "true",
       "1,2", "0.5"]


@pytest.mark.parametrize("name", models.names())
@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_option_values_end_in_one_sentence_or_a_valid_run(name, data, capsys):
    options = list(models.options(name))
    if not options:
        return
    key = data.draw(st.sampled_from(options), label="option")
    text = data.draw(st.sampled_from(BAD), label="value")
    dataset, _ = smallest_dataset(name)
    out = tempfile.mkdtemp()
    try:
        with pytest.MonkeyPatch.context() as patch, capped_memory():
            patch.setattr(figures, "draw_figures", lambda *args, **kwargs: {})
            patch.setattr(plots, "plot_losses", lambda *args, **kwargs: None)
            status, _, err = run_cli(capsys, "train", name, "--data", dataset, "--steps", "1",
                                     "--batch-size", "4", "--quiet", "--force",
                                     "--set", f"{key}={text}", "--out", out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    assert status in (0, 2, 3), (status, err)
    if status:
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert err.startswith("minigen train: error: "), err
