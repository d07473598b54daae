"""Importing a student's file without letting it crash the grader."""
import importlib.util
import os
import sys
import traceback


class BrokenSubmission:
    """Stands in for a submission that could not be imported: every attribute is a function
    that raises the import error, so each check fails with that message and still scores 0."""

    def __init__(self, path, error):
        self._path, self._error = path, error

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        message = f"the submission {self._path} could not be imported:\n{self._error}"

        def missing(*args, **kwargs):
            raise ImportError(message)
        return missing


class Submission:
    """A student's module whose missing names stand in as functions that raise, so that a
    grading file's ``student.softmax`` for an unwritten function costs that check's points
    (with the message) instead of erroring the whole test."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        try:
            return getattr(self._module, name)
        except AttributeError:
            if name.startswith("__"):
                raise
            path = getattr(self._module, "__file__", "the submission")

            def missing(*args, **kwargs):
                raise AttributeError(f"{path} defines no {name!r}")
            return missing


def load_submission(path, name=None):
    """The student's file at ``path`` as a module (named ``name``, default the file's stem) in a
    Submission, or a BrokenSubmission when importing it raises (a syntax error, an exception at
    import). Build a student's objects inside the checks, e.g.
    ``grader.module(lambda: student.Linear(3, 4), nn.Linear(3, 4), ...)``, so that a
    constructor that raises costs its check too."""
    name = name or os.path.splitext(os.path.basename(path))[0]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None:
            raise ImportError(f"{path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return Submission(module)
    except (Exception, SystemExit) as exc:     # a submission that calls exit() at import, too
        sys.modules.pop(name, None)
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return BrokenSubmission(path, "".join(lines[-4:]).rstrip())
