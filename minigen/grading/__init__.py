"""Grading a student's op, layer or model property against minigen (built on minigen.testing).

    from minigen.grading import Grader
    from minigen.nn import functional as F
    g = Grader()
    g.function(student.softmax, lambda x: F.softmax(x, dim=-1), points=2, min_dims=1)
    g.module(lambda: student.Linear(3, 4), mg.nn.Linear(3, 4), input_shape=(3,), points=2)
    g.causality(student_pixelcnn, input_shape=(1, 5, 5), points=1)
    print(g.report()); g.write_results("results.json")       # Gradescope's format

A student's layer or network may be given as a zero-argument callable that builds it (as
above): then a constructor that raises costs that check's points instead of stopping the file.
Each method records one check per part ("softmax: forward", "softmax: gradient", ...), with
``points`` shared equally by the parts or given per part as a dict ({"forward": 1, ...}; a part
left out is not checked). A part that fails, raises or runs past ``time_limit`` seconds scores 0
and says why; nothing a submission does crashes the grader. Inputs are drawn by hypothesis
(derandomized: every run grades on the same inputs), and a failing input is shrunk before it is
shown with the expected and actual values.

In pytest (an instructor's grading file), add to conftest.py

    pytest_plugins = ["minigen.grading.pytest_plugin"]

(or run ``pytest -p minigen.grading.pytest_plugin``) and write

    def test_softmax(grader):
        grader.function(student.softmax, F.softmax, points=2, kwargs={"dim": -1}, min_dims=1)

``pytest --grading-results results.json`` writes Gradescope's results.json; a test fails when one
of its checks lost points, with the messages as its report.
"""
from .core import (CheckFailed, CheckResult, Gradebook, GraderBase, TimeLimitExceeded,
                   run_limited, split_points)
from .functions import FUNCTION_PARTS, MODULE_PARTS, FunctionCheck, ModuleCheck, input_arrays, \
    search
from .properties import (DiffusionCheck, ElboCheck, GanStepCheck, PenaltyCheck, check_causal,
                         check_receptive_field, dependency_map, reference_elbo,
                         reference_gradient_penalty)
from .submission import load_submission

__all__ = ["Grader", "Gradebook", "CheckResult", "CheckFailed", "TimeLimitExceeded",
           "dependency_map", "load_submission", "reference_elbo", "run_limited"]


class Grader(GraderBase):
    """Checks with points. ``time_limit`` (seconds per check), ``max_examples`` (hypothesis
    examples per part), ``visibility`` (Gradescope's, per check overridable)."""

    # ------------------------------------------------------------------ ops and functions

    def function(self, student, reference, points=1, name=None, nargs=None, domain="real",
                 kwargs=None, min_dims=0, max_dims=3, parts=FUNCTION_PARTS, rtol=1e-6,
                 atol=1e-9, max_examples=None, time_limit=None, visibility=None):
        """Grade ``student(*xs, **kwargs)`` against ``reference`` on drawn float64 Tensors.

        nargs     the number of Tensor arguments (default: the reference's required positional
                  parameters, at least 1)
        domain    'real' [-3, 3], 'positive' [0.5, 3], 'nonzero', 'unit' (0, 1), a hypothesis
                  strategy of floats, or a list of those, one per argument
        min_dims, max_dims   the inputs' number of dims (e.g. min_dims=1 for a softmax over -1)
        parts     any of 'forward', 'gradient', 'gradgrad', 'extreme values'
        """
        name = name or getattr(student, "__name__", "function")
        nargs = nargs or _required_args(reference)
        fc = FunctionCheck(student, reference, nargs, kwargs, rtol, atol)
        n = max_examples or self.max_examples
        unknown = sorted(set(parts) - set(FUNCTION_PARTS))
        if unknown:
            raise ValueError(f"unknown part(s) {unknown}; the parts are {FUNCTION_PARTS}")

        def part(prop, extreme=False):
            strategy = input_arrays(nargs, domain, min_dims, max_dims, extreme)
            return lambda: search(strategy, prop, n, self.seed)

        checks = {"forward": part(fc.forward), "gradient": part(fc.gradient),
                  "gradgrad": part(fc.gradgrad), "extreme values": part(fc.extreme, True)}
        return self._parts(name, points, {p: checks[p] for p in parts}, time_limit, visibility)

    # ------------------------------------------------------------------ layers

    def module(self, student, reference, input_shape, points=1, name=None, parts=MODULE_PARTS,
               rtol=1e-6, atol=1e-9, max_examples=None, time_limit=None, visibility=None):
        """Grade a student's layer (an instance, or a callable building one) against minigen's,
        with the reference's weights loaded through state_dict, in float64. ``input_shape`` is
        one example's shape (the batch size is drawn)."""
        name = name or type(reference).__name__
        n = max_examples or min(self.max_examples, 10)
        state = {}

        def prepare():
            if "check" not in state:
                state["check"] = ModuleCheck(_build(student), reference, input_shape, rtol,
                                             atol)
            return state["check"]

        def compare(part):
            return lambda: search(prepare().inputs(), lambda x: prepare().compare(part, x), n,
                                  self.seed)

        checks = {"state_dict": lambda: prepare().state_dict(), "forward": compare("forward"),
                  "input gradient": compare("input gradient"),
                  "parameter gradients": compare("parameter gradients")}
        return self._parts(name, points, {p: checks[p] for p in parts}, time_limit, visibility)

    # ------------------------------------------------------------------ autoregressive models

    def causality(self, net, input_shape, points=1, name="causality", time_limit=None,
                  visibility=None):
        """No output pixel of ``net`` (input (1, C, H, W) -> output ending in (H, W)) depends on
        its own input pixel or a later one in raster order (§2.3), by the Jacobian."""
        return self.run_check(name, points, lambda: check_causal(_build(net), input_shape),
                              time_limit, visibility)

    def blind_spot(self, net, input_shape, reference=None, pixel=None, points=1,
                   name="receptive field", time_limit=None, visibility=None):
        """Every output pixel (or only ``pixel``) sees the same input pixels as the
        ``reference`` network (blind spot included); without one, every earlier pixel."""
        return self.run_check(name, points, lambda: check_receptive_field(
            _build(net), input_shape, None if reference is None else _build(reference), pixel),
            time_limit, visibility)

    # ------------------------------------------------------------------ adversarial (§4-§5)

    def gradient_penalty(self, student, points=1, reference=None, weight=10.0,
                         name="gradient penalty", parts=None, time_limit=None, visibility=None):
        """Grade fn(critic, real, fake, weight) -> lambda E (||grad f(x_hat)|| - 1)^2 in four
        parts: 'value' (on vectors), 'all non-batch dims' (on images), 'interpolation' (x_hat
        between real and fake, one eps per example), 'critic gradient' (double backward)."""
        pc = PenaltyCheck(student, reference or reference_gradient_penalty, weight)
        checks = {"value": pc.vectors, "all non-batch dims": pc.all_dims,
                  "interpolation": pc.interpolates, "critic gradient": pc.critic_gradient}
        return self._parts(name, points, _select(checks, parts), time_limit, visibility)

    def gan_step(self, student, player, points=1, reference=None, name=None, parts=None,
                 time_limit=None, visibility=None):
        """Grade one step of ``player`` ('generator' or 'discriminator'),
        fn(G, D, opt_g, opt_d, real, z): 'only its own player' (the other's parameters and .grad
        untouched) and 'matches the reference' (the same SGD step on the reference loss)."""
        gc = GanStepCheck(student, player, reference)
        checks = {"only its own player": gc.only_own, "matches the reference":
                  gc.matches_reference}
        return self._parts(name or f"{player} step", points, _select(checks, parts), time_limit,
                           visibility)

    # ------------------------------------------------------------------ DDPM and VAE

    def q_sample(self, student, points=1, name="q_sample", timesteps=1000, time_limit=None,
                 visibility=None):
        """fn(x0, t, noise, alphas_cumprod) -> x_t, t an int64 Tensor (N,) of indices 0..T-1."""
        return self.run_check(name, points, lambda: DiffusionCheck(timesteps).q_sample(student),
                              time_limit, visibility)

    def ddpm_loss(self, student, points=1, name="DDPM loss", timesteps=1000, time_limit=None,
                  visibility=None):
        """fn(eps_theta, x0, t, noise, alphas_cumprod) -> scalar ||eps - eps_theta(x_t, t)||^2
        (mean), with eps_theta(x_t, t) a given network; value and gradient in its weights."""
        return self.run_check(name, points, lambda: DiffusionCheck(timesteps).loss(student),
                              time_limit, visibility)

    def elbo(self, student, points=1, reference=None, name="ELBO", parts=None, time_limit=None,
             visibility=None):
        """fn(x, mu, logvar, eps, decode) -> (N,): 'value' on the same eps, 'gradient' to mu and
        logvar through z = mu + exp(logvar / 2) eps."""
        ec = ElboCheck(reference)
        checks = {"value": lambda: ec.value(student), "gradient": lambda: ec.gradient(student)}
        return self._parts(name, points, _select(checks, parts), time_limit, visibility)


def _select(checks, parts):
    if parts is None:
        return checks
    unknown = sorted(set(parts) - set(checks))
    if unknown:
        raise ValueError(f"unknown part(s) {unknown}; the parts are {list(checks)}")
    return {p: checks[p] for p in parts}


def _build(net):
    """A network, or a zero-argument callable that builds one (so that a constructor that
    raises costs the check instead of crashing the grading file)."""
    return net() if callable(net) and not hasattr(net, "forward") else net


def _required_args(fn):
    import inspect
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return max(1, len(required))
