"""Shared test configuration: hypothesis profiles.

  dev       (default) few examples, so a local run of the whole suite stays quick
  ci        loaded when the CI environment variable is set: more examples, derandomized so that
            every CI run draws the same examples and a failure reproduces
  thorough  HYPOTHESIS_PROFILE=thorough: many examples, for hunting bugs before a release
No profile has a deadline: op timings vary too much on shared machines to be a test failure.
"""
import os

# One BLAS thread: the suite's matrices are small, and on a 2-core machine two BLAS threads
# contending with the test process make timings erratic (set before NumPy is imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import HealthCheck, settings

_quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("dev", max_examples=10, deadline=None, suppress_health_check=_quiet)
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=_quiet, print_blob=True)
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=_quiet)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
