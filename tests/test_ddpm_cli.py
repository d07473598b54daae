"""DDPM end to end through the command line: train, sample (ancestral, DDIM, guided), evaluate."""
import json
import os
import subprocess
import sys

import numpy as np

import minigen as mg
from minigen.train import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--set", "hidden=32", "--set", "depth=1", "--set", "timesteps=100",
        "--set", "sample_steps=10"]


def minigen(*args):
    done = subprocess.run([sys.executable, "-m", "minigen", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_train_sample_and_evaluate_an_unconditional_ddpm(tmp_path):
    run = str(tmp_path / "ring8")
    minigen("train", "ddpm", "--data", "ring8", "--steps", "50", "--out", run, "--quiet", *TINY)
    for name in ("config.json", "checkpoint.npz", "samples.png", "loss.png"):
        assert os.path.isfile(os.path.join(run, name)), name
    minigen("sample", run, "--n", "16", "--out", str(tmp_path / "default.png"))
    minigen("sample", run, "--n", "16", "--steps", "5", "--out", str(tmp_path / "ddim.png"))
    assert os.path.isfile(tmp_path / "default.png") and os.path.isfile(tmp_path / "ddim.png")
    metrics = json.loads(minigen("evaluate", run, "--n", "200"))
    assert metrics["num_modes"] == 8 and metrics["samples_per_second"] > 0
    # the fast sampler by default: DDIM with the model's sample_steps and fresh noise (eta 1)
    assert metrics["sample_options"] == {"steps": 10, "eta": 1.0}
    assert metrics["sampler"] == "DDIM-10, eta 1"
    plain = json.loads(minigen("evaluate", run, "--n", "200", "--plain-sampler"))
    assert "sample_options" not in plain and plain["sampler"] == "DDIM-10, eta 0"
    ddim = json.loads(minigen("evaluate", run, "--n", "200", "--steps", "5"))
    assert ddim["sample_options"] == {"steps": 5, "eta": 1.0}  # recorded: it changes the metrics
    with open(os.path.join(run, "metrics.json")) as f:
        assert json.load(f)["sample_options"] == {"steps": 5, "eta": 1.0}
    wrong = subprocess.run([sys.executable, "-m", "minigen", "evaluate", run, "--stepz", "5"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "--steps" in wrong.stderr and "Traceback" not in wrong.stderr
    for command, value in (("evaluate", ["--steps", "101"]), ("sample", ["--spacing", "log"])):
        refused = subprocess.run([sys.executable, "-m", "minigen", command, run, *value],
                                 cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert " ".join(value) in refused.stderr and ("1..100" in refused.stderr
                                                      or "'log'" in refused.stderr)

    model, config = load_run(run)
    assert config["options"]["timesteps"] == 100 and model.num_timesteps == 100
    mg.manual_seed(0)
    points = model.sample(5, steps=3)
    assert points.shape == (5, 2) and np.all(np.isfinite(points))


def test_conditional_ddpm_samples_a_requested_label_with_guidance(tmp_path):
    run = str(tmp_path / "cond")
    minigen("train", "ddpm", "--data", "ring8", "--steps", "30", "--out", run, "--quiet",
            "--set", "conditional=true", *TINY)
    out = str(tmp_path / "label3.png")
    minigen("sample", run, "--n", "8", "--label", "3", "--guidance", "2", "--out", out)
    assert os.path.isfile(out)
    model, _ = load_run(run)
    assert model.conditional and model.num_classes == 8
