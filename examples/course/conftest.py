"""The course's grading setup: minigen's grader fixture, and the submission to grade.

    pytest examples/course/softmax                                  # grades solution.py
    pytest examples/course/softmax --submission path/to/student.py --grading-results results.json
"""
import pathlib

import pytest

from minigen.grading import load_submission

pytest_plugins = ["minigen.grading.pytest_plugin"]


def pytest_addoption(parser):
    parser.addoption("--submission", default=None, metavar="FILE",
                     help="the student's file (default: the assignment's solution.py)")


@pytest.fixture
def student(request):
    """The submission as a module (a stand-in that fails every check when it cannot be
    imported)."""
    path = request.config.getoption("--submission") or \
        pathlib.Path(request.node.fspath).parent / "solution.py"
    return load_submission(str(path), name="submission")
