"""The gradebook: checks with points, a time limit each, a text report and Gradescope's JSON.

A check is a callable that returns None when the property holds and raises ``CheckFailed`` (or
any exception) when it does not. ``Grader.run_check`` runs it under a time limit, catches
everything the student's code may throw, and records a ``CheckResult``; the grader itself never
crashes because of a submission.
"""
import dataclasses
import json
import signal
import threading
import time
import traceback
import warnings

import numpy as np

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class CheckFailed(AssertionError):
    """A property does not hold; the message says which, on what input, expected and actual."""


class TimeLimitExceeded(BaseException):
    """Raised inside a check that ran past its time limit. A BaseException, so that neither the
    student's ``except Exception`` nor hypothesis (which would start shrinking) swallows it."""


@dataclasses.dataclass
class CheckResult:
    name: str
    score: float
    max_score: float
    output: str
    visibility: str = "visible"
    seconds: float = 0.0

    @property
    def passed(self):
        return self.score >= self.max_score

    def gradescope(self):
        return {"name": self.name, "score": round(self.score, 6),
                "max_score": round(self.max_score, 6), "output": self.output,
                "visibility": self.visibility}


class _Alarm:
    """A time limit by SIGALRM (Unix, main thread): the alarm interrupts the student's code
    between Python bytecodes or NumPy calls and raises TimeLimitExceeded there."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        def on_alarm(signum, frame):
            raise TimeLimitExceeded()
        self.previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def _can_alarm():
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def run_limited(fn, seconds):
    """fn() with a time limit of ``seconds`` (None: none). Raises TimeLimitExceeded when it runs
    over. Off the main thread (or without SIGALRM) the check runs in a daemon thread that is
    abandoned, still running, when the limit passes."""
    if seconds is None:
        return fn()
    if _can_alarm():
        with _Alarm(seconds):
            return fn()
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:     # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeLimitExceeded()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def split_points(points, parts, who):
    """{part: points}: a number is shared equally by ``parts``; a dict names its parts (a part
    left out is not checked)."""
    if isinstance(points, dict):
        unknown = sorted(set(points) - set(parts))
        if unknown:
            raise ValueError(f"{who}: unknown part(s) {unknown}; the parts are {list(parts)}")
        return {p: float(points[p]) for p in parts if p in points}
    if not points >= 0:
        raise ValueError(f"{who}: points must be >= 0, got {points!r}")
    return {p: float(points) / len(parts) for p in parts}


def describe_exception(exc, limit=6):
    """A short account of an exception raised by a submission: type, message, last frames."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(frames[-limit:]).rstrip()
    return f"raised {type(exc).__name__}: {exc}\n{tail}"


class Gradebook:
    """The results of every check, in order; the score, the report and results.json."""

    def __init__(self):
        self.results = []

    @property
    def score(self):
        return sum(r.score for r in self.results)

    @property
    def max_score(self):
        return sum(r.max_score for r in self.results)

    def add(self, result):
        self.results.append(result)
        return result

    def report(self):
        """One line per check (PASS/FAIL, points, name), the failure messages indented below."""
        lines = []
        for r in self.results:
            mark = "PASS" if r.passed else "FAIL"
            lines.append(f"{mark} {r.score:g}/{r.max_score:g}  {r.name}")
            if not r.passed and r.output:
                lines.extend("      " + line for line in r.output.splitlines())
        lines.append(f"total {self.score:g}/{self.max_score:g}")
        return "\n".join(lines)

    def gradescope(self):
        """Gradescope's autograder results: {"score", "tests": [{name, score, max_score, output,
        visibility}]}."""
        return {"score": round(self.score, 6),
                "tests": [r.gradescope() for r in self.results]}

    def write_results(self, path):
        with open(path, "w") as f:
            json.dump(self.gradescope(), f, indent=2)
        return path


class GraderBase:
    """Recording checks into a Gradebook under a time limit; the checks live in the subclass."""

    def __init__(self, time_limit=30.0, max_examples=20, seed=0, visibility="visible",
                 gradebook=None):
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
        self.time_limit = time_limit
        self.max_examples = int(max_examples)
        self.seed = int(seed)
        self.visibility = visibility
        self.own = Gradebook()      # this grader's results (in pytest: one test's share)
        self.gradebook = self.own if gradebook is None else gradebook

    @property
    def results(self):
        return self.own.results

    @property
    def score(self):
        return self.own.score

    @property
    def max_score(self):
        return self.own.max_score

    def run_check(self, name, points, check, time_limit=None, visibility=None,
                  passed_message=""):
        """Run ``check()``; full ``points`` when it returns, 0 and its message when it raises or
        runs past the time limit. Returns the CheckResult."""
        limit = self.time_limit if time_limit is None else time_limit
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")   # a student's overflow is reported, not printed
                run_limited(check, limit)
            score, output = float(points), passed_message
        except TimeLimitExceeded:
            score, output = 0.0, f"stopped after the time limit of {limit:g} s"
        except Exception as exc:     # any failure of the submission costs this check, only
            score, output = 0.0, describe_exception(exc)
        result = CheckResult(name, score, float(points), output,
                             visibility or self.visibility, time.perf_counter() - start)
        if self.gradebook is not self.own:
            self.own.add(result)
        return self.gradebook.add(result)

    def check(self, name, fn, points=1, time_limit=None, visibility=None):
        """A check of the instructor's own: ``fn()`` raises (e.g. an AssertionError with a
        message) when the property does not hold."""
        return self.run_check(name, points, fn, time_limit, visibility)

    def _parts(self, name, points, checks, time_limit, visibility):
        """Run the ``checks`` {part: callable} named ``name: part`` with their share of points."""
        shares = split_points(points, list(checks), name)
        return [self.run_check(f"{name}: {part}", shares[part], checks[part], time_limit,
                               visibility) for part in checks if part in shares]

    def report(self):
        return self.gradebook.report()

    def gradescope(self):
        return self.gradebook.gradescope()

    def write_results(self, path):
        return self.gradebook.write_results(path)
