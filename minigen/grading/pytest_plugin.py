"""The pytest side of minigen.grading: a ``grader`` fixture and Gradescope's results.json.

Enable it in the grading folder's conftest.py with ``pytest_plugins =
["minigen.grading.pytest_plugin"]`` (or ``pytest -p minigen.grading.pytest_plugin``). Then

    def test_softmax(grader):
        grader.function(student.softmax, F.softmax, points=2, kwargs={"dim": -1}, min_dims=1)

Every test shares one gradebook. A test fails when one of its checks lost points (its report
lists the failing checks and their messages); ``--grading-results PATH`` writes the gradebook as
Gradescope's results.json at the end, and the terminal summary shows the text report.
"""
import pytest

from . import Gradebook, Grader

_BOOK = pytest.StashKey[Gradebook]()


def pytest_addoption(parser):
    group = parser.getgroup("minigen grading")
    group.addoption("--grading-results", default=None, metavar="PATH",
                    help="write the checks' points as Gradescope's results.json to PATH")
    group.addoption("--grading-time-limit", type=float, default=30.0, metavar="SECONDS",
                    help="time limit of one check (default 30 s)")


def pytest_configure(config):
    config.stash[_BOOK] = Gradebook()


@pytest.fixture
def grader(request):
    """A Grader whose checks go into the session's gradebook."""
    g = Grader(time_limit=request.config.getoption("--grading-time-limit"),
               gradebook=request.config.stash[_BOOK])
    request.node.stash[_BOOK] = g
    return g


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    g = item.stash.get(_BOOK, None)
    if report.when != "call" or report.outcome != "passed" or g is None:
        return
    lost = [r for r in g.results if not r.passed]
    if lost:
        report.outcome = "failed"
        report.longrepr = "\n".join(
            f"{r.name}: {r.score:g}/{r.max_score:g}\n" + "\n".join(
                "    " + line for line in r.output.splitlines()) for r in lost)


def pytest_sessionfinish(session):
    path = session.config.getoption("--grading-results")
    if path:
        session.config.stash[_BOOK].write_results(path)


def pytest_terminal_summary(terminalreporter, config):
    book = config.stash.get(_BOOK, None)
    if book is None or not book.results:
        return
    terminalreporter.section("minigen grading")
    terminalreporter.write_line(book.report())
    if config.getoption("--grading-results"):
        terminalreporter.write_line(f"wrote {config.getoption('--grading-results')}")
