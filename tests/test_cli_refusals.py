"""The command line loses nothing and says everything (issue 17): a refused --force leaves the old
run byte for byte, silent nonsense is refused in a sentence, a NaN loss stops the run, results
measured with other settings are kept apart, and every long wait shows progress off a terminal."""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigen as mg
from minigen import models, nn
from minigen.models import GenerativeModel, SamplingModel
from minigen.train import load_checkpoint, read_config, runner, train
from test_cli import assert_one_sentence_error, run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_DDPM = ["--set", "hidden=16", "--set", "depth=1", "--set", "timesteps=20",
             "--set", "sample_steps=4"]


def fingerprint(folder):
    """{file name: sha256 of its bytes} of every file in ``folder``."""
    return {name: hashlib.sha256(open(os.path.join(folder, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(folder))}


@pytest.fixture(scope="module")
def ddpm_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "ddpm")
    status = subprocess.run([sys.executable, "-m", "minigen", "train", "ddpm", "--data", "ring8",
                             "--steps", "3", "--out", out, "--quiet", *TINY_DDPM], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    subprocess.run([sys.executable, "-m", "minigen", "evaluate", out, "--n", "50", "--quiet"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return out


@pytest.mark.parametrize("bad", [["--set", "channels=-4"], ["--set", "ema_decay=2"],
                                 ["--set", "timesteps=0"], ["--set", "schedule="],
                                 ["--lr", "inf"], ["--lr", "nan"], ["--steps", "0"]])
def test_a_refused_force_leaves_the_old_run_byte_identical(capsys, ddpm_run, bad):
    before = fingerprint(ddpm_run)
    assert {"checkpoint.npz", "config.json", "loss.png", "samples.png",
            "metrics.json"} <= set(before)
    status, _, err = run_cli(capsys, "train", "ddpm", "--data", "ring8", "--force", "--out",
                             ddpm_run, "--quiet", *TINY_DDPM, *bad)
    assert_one_sentence_error(status, err)
    assert fingerprint(ddpm_run) == before


def test_a_forced_run_replaces_the_old_one_and_keeps_foreign_files(tmp_path):
    out = str(tmp_path / "g")
    train("gaussian", data="ring8", steps=3, out=out, progress=False)
    with open(os.path.join(out, "notes.txt"), "w") as f:
        f.write("mine")
    train("gaussian", data="ring8", steps=5, out=out, force=True, progress=False)
    assert read_config(out)["step"] == 5
    assert open(os.path.join(out, "notes.txt")).read() == "mine"
    assert [n for n in os.listdir(tmp_path) if n != "g"] == []     # no hidden folder left


def test_a_crash_while_replacing_leaves_the_old_run_on_disk(tmp_path, monkeypatch):
    out = str(tmp_path / "g")
    train("gaussian", data="ring8", steps=3, out=out, progress=False)
    before = fingerprint(out)
    real_rename = os.rename
    calls = []

    def crash_on_second(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_rename(src, dst)
    monkeypatch.setattr(runner.os, "rename", crash_on_second)
    with pytest.raises(runner.RunError, match="cannot use"):
        train("gaussian", data="ring8", steps=5, out=out, force=True, progress=False)
    kept = [n for n in os.listdir(tmp_path) if ".replaced-" in n]
    assert len(kept) == 1 and fingerprint(str(tmp_path / kept[0])) == before


@pytest.mark.parametrize("argv, fragment", [
    (["--steps", "2", "--steps", "5"], "--steps is given twice (2 and 5)"),
    (["--lr=0.1", "--lr", "0.2"], "--lr is given twice"),
    (["--resume", "--force"], "give one of them"),
    (["--steps", "0"], "steps must be an integer >= 1"),
    (["--lr", "inf"], "lr must be a finite number"),
    (["--set", "dequantize=maybe"], "expected true or false"),
])
def test_silently_accepted_mistakes_are_refused(capsys, tmp_path, argv, fragment):
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "ring8", "--quiet", "--out",
                             str(tmp_path / "g"), *argv)
    assert_one_sentence_error(status, err, fragment)
    assert not os.path.exists(tmp_path / "g")            # no empty run folder left behind


@pytest.mark.parametrize("model, data, option", [
    ("pixelcnn", "digits-binary", "channels=30000"), ("gan", "digits", "channels=100000"),
    ("progan", "digits", "channels=64,64,20000"), ("vae", "digits-binary", "hidden=10000000"),
])
def test_a_size_typed_by_mistake_is_refused_before_anything_is_allocated(tmp_path, model, data,
                                                                         option):
    """Without a range such a size is allocated: the kernel kills the run (or the machine swaps)."""
    out = tmp_path / "run"
    status = subprocess.run([sys.executable, "-m", "minigen", "train", model, "--data", data,
                             "--steps", "1", "--set", option, "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    key = option.split("=")[0]
    assert_one_sentence_error(status.returncode, status.stderr, f"option '{key}' of model "
                              f"'{model}' must be in")
    assert not out.exists()


def test_resume_of_a_finished_run_says_so_and_changes_nothing(capsys, tmp_path):
    out = str(tmp_path / "g")
    train("gaussian", data="ring8", steps=4, out=out, progress=False)
    before = fingerprint(out)
    status, _, err = run_cli(capsys, "train", "gaussian", "--resume", "--out", out)
    assert_one_sentence_error(status, err, "already finished at step 4", "--steps")
    assert fingerprint(out) == before
    status, _, _ = run_cli(capsys, "train", "gaussian", "--resume", "--out", out, "--steps",
                           "6", "--quiet")
    assert status == 0 and read_config(out)["step"] == 6


def test_resume_with_a_changed_option_names_the_key(capsys, tmp_path):
    out = str(tmp_path / "g")
    train("gaussian", data="ring8", steps=2, out=out, progress=False)
    status, _, err = run_cli(capsys, "train", "gaussian", "--resume", "--out", out,
                             "--set", "dequantize=false")
    assert_one_sentence_error(status, err, "dequantize=False", "dequantize=True")
    assert "{" not in err                      # the key, not the whole options dictionary


def test_mnist_path_that_is_a_file_says_so(capsys, tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"")
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", f"mnist:{path}",
                             "--out", str(tmp_path / "g"))
    assert_one_sentence_error(status, err, "is a file")


def test_sampling_refuses_nonsense_options(capsys, ddpm_run):
    for argv, fragment in ((["--eta", "nan"], "finite"), (["--eta", "2"], "[0, 1]"),
                           (["--guidance", "2"], "conditional")):
        status, _, err = run_cli(capsys, "sample", ddpm_run, "--n", "2", "--quiet", *argv)
        assert_one_sentence_error(status, err, fragment)


def test_evaluate_with_other_settings_keeps_the_earlier_result(capsys, ddpm_run, tmp_path):
    import shutil
    run = str(tmp_path / "copy")
    shutil.copytree(ddpm_run, run)
    with open(os.path.join(run, "metrics.json")) as f:
        first = json.load(f)
    assert first["settings"]["n"] == 50
    status, out, err = run_cli(capsys, "evaluate", run, "--n", "20", "--quiet")
    assert status == 0 and "moved to metrics-n50" in err
    kept = [n for n in os.listdir(run) if n.startswith("metrics-n50")]
    with open(os.path.join(run, kept[0])) as f:
        assert json.load(f) == first
    with open(os.path.join(run, "metrics.json")) as f:
        assert json.load(f)["settings"]["n"] == 20
    status, _, err = run_cli(capsys, "evaluate", run, "--n", "20", "--quiet")
    assert status == 0 and "moved" not in err        # the same settings: simply measured again


# ------------------------------------------------------------------------- a loss that breaks

class Diverges(SamplingModel, GenerativeModel):
    """Its loss is NaN from step 7 on (a stand-in for a learning rate that blows up)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones(2, np.float32))
        self.calls = 0

    def loss(self, x, y=None):
        self.calls += 1
        broken = float("nan") if self.calls > 7 else 1.0
        return ((x * self.w) ** 2).mean() * broken

    def sample(self, n, y=None):
        return mg.randn(n, 2).data


def test_a_nan_loss_stops_the_run_with_a_sentence_and_keeps_the_last_finite_checkpoint(
        capsys, tmp_path, monkeypatch):
    entry = models.Entry("diverges-test", lambda ds: Diverges(), "a test model", {},
                         {"steps": 20, "batch_size": 32, "lr": 0.1})
    monkeypatch.setitem(models._REGISTRY, "diverges-test", entry)
    out = str(tmp_path / "d")
    status, _, err = run_cli(capsys, "train", "diverges-test", "--data", "ring8", "--quiet",
                             "--checkpoint-every", "5", "--out", out)
    assert status == 3 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "'loss' became nan at step 7" in err and "--detect-anomaly" in err
    assert "last finite checkpoint (step 5)" in err
    assert int(load_checkpoint(os.path.join(out, "checkpoint.npz"))["step"]) == 5
    config = read_config(out)
    assert config["finished"] is False and "became nan at step 7" in config["stopped"]
    assert not os.path.exists(os.path.join(out, "samples.png"))


# ------------------------------------------------------------------------- progress off a terminal

def test_training_and_sampling_print_progress_lines_when_stderr_is_not_a_terminal(tmp_path):
    env = {**os.environ, "MINIGEN_PROGRESS_SECONDS": "0"}
    out = str(tmp_path / "p")
    done = subprocess.run([sys.executable, "-m", "minigen", "train", "ddpm", "--data", "ring8",
                           "--steps", "4", "--out", out, *TINY_DDPM], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "train: step 1/4, loss " in lines[0] and "steps/s, elapsed 0:0" in lines[0]
    assert "ETA" in lines[0] and lines[3].startswith("train: step 4/4")
    assert any(line.startswith("DDIM-4 sampling: step 4/4") for line in lines)
    # the log says which sampler drew the end-of-training picture
    assert "samples.png: samples, DDIM-4, eta 1" in done.stdout
    sampled = subprocess.run([sys.executable, "-m", "minigen", "sample", out, "--n", "3",
                              "--plain-sampler"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
    assert sampled.returncode == 0, sampled.stderr
    assert "DDIM-4 sampling: step 4/4" in sampled.stderr
    assert os.path.isfile(os.path.join(out, "samples.png"))    # one picture name
    assert "samples.png" in sampled.stdout
    quiet = subprocess.run([sys.executable, "-m", "minigen", "train", "gaussian", "--data",
                            "ring8", "--steps", "3", "--quiet", "--out", str(tmp_path / "q")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""
