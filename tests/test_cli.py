"""The command line: help, listing, exit codes and one-sentence errors, and the acceptance run."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minigen import cli, data, models
from minigen.backend import cuda_available
from minigen.train import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(capsys, *argv):
    """(exit status, stdout, stderr) of ``minigen ARGV`` run in this process."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exc:          # argparse: --help and usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_sentence_error(status, err, *fragments):
    assert status == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "g")
    train("gaussian", data="ring8", steps=20, out=out, progress=False)
    return out


@pytest.mark.parametrize("argv", [[], ["list"], ["train"], ["sample"], ["evaluate"]])
def test_help_of_every_command_exits_0(capsys, argv):
    status, out, _ = run_cli(capsys, *argv, "--help")
    assert status == 0 and "usage: minigen" in out


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run_cli(capsys)
    assert status == 2 and "COMMAND" in err


def test_list_shows_every_model_and_dataset_on_its_own_line(capsys):
    status, out, _ = run_cli(capsys, "list")
    lines = out.splitlines()
    assert status == 0
    for name in models.names() + data.names():
        assert any(line.split()[0] == name for line in lines if line.startswith("  ")), name


def test_list_model_shows_its_options_with_defaults(capsys):
    status, out, _ = run_cli(capsys, "list", "gaussian")
    assert status == 0
    assert "dequantize=true" in out and "training defaults" in out


def test_unknown_model_exits_2_naming_the_valid_models(capsys, tmp_path):
    for argv in (["list", "gausian"], ["train", "gausian", "--out", str(tmp_path / "x")]):
        status, _, err = run_cli(capsys, *argv)
        assert_one_sentence_error(status, err, "unknown model 'gausian'", "gaussian")


def test_unknown_dataset_exits_2_naming_the_valid_datasets(capsys, tmp_path):
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "ring9",
                             "--out", str(tmp_path / "x"))
    assert_one_sentence_error(status, err, "unknown dataset 'ring9'", "ring8", "mnist5k")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_missing_run_directory_exits_2(capsys, tmp_path, command):
    status, _, err = run_cli(capsys, command, str(tmp_path / "nothing"))
    assert_one_sentence_error(status, err, "does not exist")


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_directory_without_a_run_exits_2(capsys, tmp_path, command):
    status, _, err = run_cli(capsys, command, str(tmp_path))
    assert_one_sentence_error(status, err, "config.json")


def copy_run(src, dst):
    os.makedirs(dst)
    for name in ("config.json", "checkpoint.npz"):
        with open(os.path.join(src, name), "rb") as f, open(os.path.join(dst, name), "wb") as g:
            g.write(f.read())
    return dst


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_corrupt_or_missing_checkpoint_exits_2(capsys, toy_run, tmp_path, command):
    broken = copy_run(toy_run, str(tmp_path / "broken"))
    with open(os.path.join(broken, "checkpoint.npz"), "r+b") as f:
        f.truncate(100)
    status, _, err = run_cli(capsys, command, broken)
    assert_one_sentence_error(status, err, "damaged")
    os.remove(os.path.join(broken, "checkpoint.npz"))
    status, _, err = run_cli(capsys, command, broken)
    assert_one_sentence_error(status, err, "no checkpoint.npz")


def test_a_corrupt_config_exits_2(capsys, toy_run, tmp_path):
    broken = copy_run(toy_run, str(tmp_path / "broken"))
    with open(os.path.join(broken, "config.json"), "w") as f:
        f.write("{not json")
    status, _, err = run_cli(capsys, "evaluate", broken)
    assert_one_sentence_error(status, err, "cannot read")


def test_train_refuses_to_overwrite_a_run_without_resume_or_force(capsys, tmp_path):
    out = str(tmp_path / "g")
    argv = ["train", "gaussian", "--data", "ring8", "--steps", "3", "--out", out, "--quiet"]
    assert run_cli(capsys, *argv)[0] == 0
    status, _, err = run_cli(capsys, *argv)
    assert_one_sentence_error(status, err, "already holds a training run", "--resume", "--force")
    status, out_text, _ = run_cli(capsys, *argv, "--force")
    assert status == 0 and "trained gaussian for 3 steps" in out_text
    status, out_text, _ = run_cli(capsys, "train", "gaussian", "--steps", "5", "--out", out,
                                  "--resume", "--quiet")
    assert status == 0 and "for 5 steps" in out_text


def test_resume_with_another_dataset_exits_2(capsys, toy_run):
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "grid25", "--out", toy_run,
                             "--resume")
    assert_one_sentence_error(status, err, "cannot resume", "ring8")


@pytest.mark.parametrize("setting, fragments", [
    ("depth=3", ["no option 'depth'", "dequantize"]),
    ("dequantize=perhaps", ["dequantize", "expected true or false"]),
    ("dequantize", ["KEY=VALUE"]),
])
def test_bad_set_options_exit_2(capsys, tmp_path, setting, fragments):
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "ring8", "--set", setting,
                             "--out", str(tmp_path / "g"))
    assert_one_sentence_error(status, err, *fragments)


def test_set_options_reach_the_model_and_the_config(capsys, tmp_path):
    out = str(tmp_path / "g")
    status, _, _ = run_cli(capsys, "train", "gaussian", "--steps", "2", "--set", "dequantize=false",
                           "--out", out, "--quiet")
    assert status == 0
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["options"] == {"dequantize": False}


@pytest.mark.skipif(cuda_available(), reason="a GPU is present")
def test_device_cuda_without_a_gpu_exits_2(capsys, tmp_path):
    status, _, err = run_cli(capsys, "train", "gaussian", "--device", "cuda",
                             "--out", str(tmp_path / "g"))
    assert_one_sentence_error(status, err, "--device cuda is not available")


def test_sample_writes_a_picture_and_rejects_labels_for_unconditional_models(capsys, toy_run,
                                                                                tmp_path):
    picture = str(tmp_path / "s.png")
    status, out, _ = run_cli(capsys, "sample", toy_run, "--n", "50", "--out", picture)
    assert status == 0 and os.path.getsize(picture) > 5000
    status, _, err = run_cli(capsys, "sample", toy_run, "--label", "3")
    assert_one_sentence_error(status, err, "unconditional")


def test_sample_rejects_options_the_model_sample_does_not_take(capsys, toy_run):
    status, _, err = run_cli(capsys, "sample", toy_run, "--guidance", "2")
    assert_one_sentence_error(status, err, "no option --guidance")


class Sampler:
    def sample(self, n, y=None, steps=None, guidance=1.0, clip=True):
        return n


class OpenSampler:
    def sample(self, n, y=None, **options):
        return n


def test_sample_options_are_typed_by_the_sample_signature():
    kwargs = cli.sample_options(Sampler(), ["--steps", "50", "--guidance=2.5", "--clip", "false"])
    assert kwargs == {"steps": 50, "guidance": 2.5, "clip": False}
    assert cli.sample_options(OpenSampler(), ["--eta", "0.5"]) == {"eta": 0.5}
    with pytest.raises(cli.UsageError, match="needs a value"):
        cli.sample_options(Sampler(), ["--steps"])
    with pytest.raises(cli.UsageError, match="expected float"):
        cli.sample_options(Sampler(), ["--guidance", "high"])
    with pytest.raises(cli.UsageError, match="--steps, --guidance, --clip"):
        cli.sample_options(Sampler(), ["--eta", "1"])


def test_unknown_flags_of_other_commands_are_usage_errors(capsys, toy_run):
    status, _, err = run_cli(capsys, "train", "gaussian", "--bogus", "3")
    assert status == 2 and "unrecognized arguments: --bogus 3" in err
    # evaluate passes further flags to the model's sample(); the Gaussian's takes none
    status, _, err = run_cli(capsys, "evaluate", toy_run, "--steps", "3")
    assert status == 2 and "has no option --steps" in err


def test_acceptance_train_then_evaluate_with_python_m_minigen(tmp_path):
    out = str(tmp_path / "g")
    env = {**os.environ, "PYTHONPATH": ROOT}
    command = [sys.executable, "-m", "minigen"]
    trained = subprocess.run(command + ["train", "gaussian", "--data", "ring8", "--steps", "500",
                                        "--out", out], capture_output=True, text=True, env=env,
                             cwd=str(tmp_path), timeout=120)
    assert trained.returncode == 0, trained.stderr
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "config.json", "loss.png", "samples.png"]
    evaluated = subprocess.run(command + ["evaluate", out], capture_output=True, text=True,
                               env=env, cwd=str(tmp_path), timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    printed = json.loads(evaluated.stdout)
    with open(os.path.join(out, "metrics.json")) as f:
        written = json.load(f)
    assert printed == written
    assert {"modes_covered", "hq_fraction", "nll_nats", "bits_per_dim", "samples_per_second",
            "train_seconds"} <= set(written)
    assert 0 <= written["modes_covered"] <= 8 and 0.0 <= written["hq_fraction"] <= 1.0
    # the maximum-likelihood Gaussian of ring8 is close to N(0, 2 I): entropy 1 + log(4 pi)
    assert written["nll_nats"] == pytest.approx(1 + np.log(4 * np.pi), abs=0.03)
