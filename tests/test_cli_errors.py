"""Mistakes at the command line end in one sentence naming what was wrong, exit status 2, never a
traceback and never a lost run (found by the acceptance review; more in test_cli_refusals.py)."""
import os
import shutil

import pytest

from minigen.train import train
from test_cli import assert_one_sentence_error, run_cli


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "g")
    train("gaussian", data="ring8", steps=20, out=out, progress=False)
    return out


@pytest.mark.parametrize("bad", [["--steps", "-5"], ["--lr", "0"], ["--checkpoint-every", "0"],
                                 ["--data", "mnist:/nonexistent/folder"]])
def test_a_refused_forced_run_leaves_the_old_run_intact(capsys, toy_run, tmp_path, bad):
    out = str(tmp_path / "g")
    shutil.copytree(toy_run, out)
    before = sorted(os.listdir(out))
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "ring8", "--force",
                             "--out", out, "--quiet", *bad)
    assert_one_sentence_error(status, err)
    assert sorted(os.listdir(out)) == before


def test_a_refused_run_creates_no_directory(capsys, tmp_path):
    out = str(tmp_path / "never")
    status, _, err = run_cli(capsys, "train", "gaussian", "--steps", "-1", "--out", out)
    assert_one_sentence_error(status, err, "steps must be an integer >= 1")
    assert not os.path.exists(out)


def test_train_into_a_path_that_is_a_file_exits_2(capsys, tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a run")
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "ring8", "--steps", "1",
                             "--out", str(path), "--quiet")
    assert_one_sentence_error(status, err, "is a file")
    assert path.read_text() == "not a run"


def test_train_into_a_folder_that_cannot_be_created_exits_2(capsys, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    status, _, err = run_cli(capsys, "train", "gaussian", "--data", "ring8", "--steps", "1",
                             "--out", str(blocker / "run"), "--quiet")
    assert_one_sentence_error(status, err, "cannot use")


@pytest.mark.parametrize("name, fragment", [("samples.txt", "not a picture file name"),
                                            ("folder.png", "is a folder")])
def test_sample_out_that_is_not_a_picture_file_exits_2(capsys, toy_run, tmp_path, name,
                                                       fragment):
    (tmp_path / "folder.png").mkdir()
    status, _, err = run_cli(capsys, "sample", toy_run, "--n", "4", "--out",
                             str(tmp_path / name))
    assert_one_sentence_error(status, err, fragment)


def test_sample_writes_other_picture_formats_matplotlib_knows(capsys, toy_run, tmp_path):
    out = tmp_path / "samples.svg"
    status, _, _ = run_cli(capsys, "sample", toy_run, "--n", "4", "--out", str(out))
    assert status == 0 and out.read_text().lstrip().startswith("<?xml")


def test_an_unwritable_sample_folder_exits_2_naming_it(capsys, toy_run, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    status, _, err = run_cli(capsys, "sample", toy_run, "--n", "4", "--out",
                             str(blocker / "x.png"))
    assert_one_sentence_error(status, err, str(blocker))
