"""The course's assignments (examples/course/): the correct solution gets full marks, and each
subtly wrong one loses exactly the points of the property it breaks, with a message naming it.

Each grading file is imported and its tests are called with a fresh Grader (in-process, fast);
one run goes through pytest and the grader plugin, writing Gradescope's results.json.
"""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

from minigen.grading import Grader, load_submission

COURSE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "course"

# assignment, submission, {check that loses points: words its message must contain}
CASES = [
    ("softmax", "solution", {}),
    ("softmax", "wrong_overflow", {"softmax: extreme values": "nan"}),
    ("softmax", "wrong_numpy_backward", {"softmax: gradgrad": "Tensor ops"}),
    ("masked_conv", "solution", {}),
    ("masked_conv", "wrong_centre_on", {"causality of a mask-A, mask-B, mask-B stack":
                                        "not causal"}),
    ("wgan_gp", "solution", {}),
    ("wgan_gp", "wrong_last_dim", {"gradient penalty: all non-batch dims":
                                   "the norm over the last dim only"}),
]


def grade(assignment, submission):
    folder = COURSE / assignment
    (grading_file,) = folder.glob("test_grade_*.py")
    spec = importlib.util.spec_from_file_location(f"grade_{assignment}", grading_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    student = load_submission(str(folder / f"{submission}.py"), name=f"{assignment}_{submission}")
    g = Grader(max_examples=8)
    for name in dir(module):
        if name.startswith("test_"):
            getattr(module, name)(g, student)
    return g


@pytest.mark.parametrize("assignment, submission, lost", CASES,
                         ids=[f"{a}-{s}" for a, s, _ in CASES])
def test_submission_loses_exactly_the_points_of_what_it_breaks(assignment, submission, lost):
    g = grade(assignment, submission)
    failed = {r.name: r for r in g.results if not r.passed}
    assert set(failed) == set(lost), g.report()
    for name, words in lost.items():
        assert failed[name].score == 0 and words in failed[name].output, failed[name].output
    expected_loss = sum(failed[name].max_score for name in lost)
    assert g.score == g.max_score - expected_loss


def test_pytest_plugin_writes_gradescope_results(tmp_path):
    results = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(COURSE.parent.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(COURSE / "wgan_gp"),
         "--submission", str(COURSE / "wgan_gp" / "wrong_last_dim.py"),
         "--grading-results", str(results)],
        capture_output=True, text=True, env=env, timeout=300)
    # the test that lost points fails, and its report names the check
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gradient penalty: all non-batch dims: 0/2" in done.stdout
    data = json.loads(results.read_text())
    assert data["score"] == 3
    assert {t["name"]: t["score"] for t in data["tests"]} == {
        "gradient penalty: value": 1, "gradient penalty: all non-batch dims": 0,
        "gradient penalty: interpolation": 1, "gradient penalty: critic gradient": 1}
