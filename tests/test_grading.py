"""minigen.grading: each check passes a right implementation, fails a wrong one with a message
that names the property, and never lets a submission crash the grader."""
import json

import numpy as np
import pytest

import minigen as mg
from minigen import nn
from minigen.grading import Grader, dependency_map, load_submission
from minigen.grading.core import split_points
from minigen.models import adversarial
from minigen.nn import functional as F


def grader():
    return Grader(max_examples=6, time_limit=60)


def scores(g):
    return {r.name: r.score for r in g.results}


def test_function_right_gets_every_part_and_report_totals():
    g = grader()
    g.function(lambda x, y: x * y + y, lambda x, y: x * y + y, points=4, name="fma")
    assert scores(g) == {"fma: forward": 1, "fma: gradient": 1, "fma: gradgrad": 1,
                         "fma: extreme values": 1}
    assert g.report().endswith("total 4/4")


def test_function_wrong_gradient_is_found_and_its_input_shrunk():
    class BadTanh(mg.autograd.Function):
        def forward(self, x):
            return np.tanh(x)

        def backward(self, grad):
            return grad * (1 - self.output)      # should be 1 - y^2

    g = grader()
    g.function(BadTanh.apply, lambda x: x.tanh(), name="tanh",
               points={"forward": 1, "gradient": 1})
    assert scores(g) == {"tanh: forward": 1, "tanh: gradient": 0}
    message = g.results[1].output
    assert "gradient with respect to x0" in message and "expected" in message
    # shrunk by hypothesis to the simplest input that shows the bug: 0-d, the value 1
    # (at 0 the wrong rule 1 - y and the right one 1 - y^2 agree)
    assert "differs on input x0 = 1.\n" in message


def test_function_broadcasting_and_dtype_mistakes_cost_their_part():
    g = grader()
    g.function(lambda x, y: (x * y).sum(), lambda x, y: x * y, points={"forward": 1},
               name="no broadcast")
    g.function(lambda x: x.float() * 2, lambda x: x * 2, points={"forward": 1}, name="float32")
    assert scores(g) == {"no broadcast: forward": 0, "float32: forward": 0}
    assert "shape" in g.results[0].output
    assert "float64" in g.results[1].output


def test_crashing_hanging_and_non_tensor_submissions_score_zero_with_a_message():
    def crash(x):
        raise ZeroDivisionError("student bug")

    def hang(x):
        while True:
            pass

    g = grader()
    g.function(crash, lambda x: x, points={"forward": 1}, name="crash")
    g.function(hang, lambda x: x, points={"forward": 1}, name="hang", time_limit=0.5)
    g.function(lambda x: x.numpy(), lambda x: x, points={"forward": 1}, name="array")
    assert g.score == 0 and g.max_score == 3
    assert "ZeroDivisionError: student bug" in g.results[0].output
    assert "time limit of 0.5 s" in g.results[1].output
    assert "must return a minigen Tensor" in g.results[2].output


def test_module_same_weights_and_a_missing_parameter():
    g = grader()
    g.module(nn.Linear(3, 2), nn.Linear(3, 2), input_shape=(3,), points=4)
    assert g.score == 4

    class NoBias(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(np.zeros((2, 3)))

        def forward(self, x):
            return x @ self.weight.transpose(0, 1)

    g = grader()
    g.module(NoBias(), nn.Linear(3, 2), input_shape=(3,), points={"state_dict": 1})
    assert g.score == 0 and "missing key 'bias'" in g.results[0].output


def test_module_wrong_parameter_gradient_loses_that_part_only():
    class DetachedBias(nn.Linear):
        def forward(self, x):
            return F.linear(x, self.weight) + self.bias.detach()

    g = grader()
    g.module(DetachedBias(3, 2), nn.Linear(3, 2), input_shape=(3,), points=4)
    assert scores(g) == {"Linear: state_dict": 1, "Linear: forward": 1,
                         "Linear: input gradient": 1, "Linear: parameter gradients": 0}
    assert "'bias'" in g.results[3].output


def test_dependency_map_draws_the_seen_pixels():
    net = nn.MaskedConv2d(1, 1, 3, "A")
    assert dependency_map(net, (1, 3, 3), pixel=(1, 1)) == "o o o\no x .\n. . ."


def test_causality_and_blind_spot_of_pixelcnn_layers():
    causal = nn.Sequential(nn.MaskedConv2d(1, 2, 3, "A"), nn.Tanh(), nn.MaskedConv2d(2, 1, 3, "B"))
    leaky = nn.Sequential(nn.MaskedConv2d(1, 2, 3, "B"), nn.Tanh(), nn.MaskedConv2d(2, 1, 3, "B"))
    g = grader()
    g.causality(causal, (1, 4, 4), name="causal")
    g.causality(leaky, (1, 4, 4), name="leaky")
    g.blind_spot(causal, (1, 5, 5), reference=causal, name="same field")
    g.blind_spot(causal, (1, 5, 5), name="no blind spot")   # PixelCNN has one
    assert scores(g) == {"causal": 1, "leaky": 0, "same field": 1, "no blind spot": 0}
    assert "X" in g.results[1].output and "not causal" in g.results[1].output
    assert "misses" in g.results[3].output


def test_gradient_penalty_reference_passes_and_a_detached_gradient_fails():
    def detached(critic, real, fake, weight=10.0):
        x = real.detach().requires_grad_(True)
        (grad,) = mg.autograd.grad(critic(x).sum(), x)          # no create_graph
        return weight * ((grad.reshape(x.shape[0], -1).pow(2).sum(dim=1).sqrt() - 1) ** 2).mean()

    g = grader()
    g.gradient_penalty(adversarial.gradient_penalty, points=4, name="ref")
    g.gradient_penalty(detached, points=4, name="detached")
    got = scores(g)
    assert all(got[f"ref: {p}"] == 1 for p in ("value", "all non-batch dims", "interpolation",
                                                "critic gradient"))
    assert got["detached: critic gradient"] == 0 and got["detached: interpolation"] == 0
    assert got["detached: value"] == 1
    assert "create_graph=True" in g.results[-1].output


def test_ddpm_q_sample_and_loss():
    def q_sample(x0, t, noise, alphas_cumprod):
        ab = alphas_cumprod[t].reshape(-1, *([1] * (x0.ndim - 1)))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def q_sample_one_t(x0, t, noise, alphas_cumprod):      # uses t[0] for the whole batch
        ab = alphas_cumprod[t[:1]].reshape(1, *([1] * (x0.ndim - 1)))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def loss(eps_theta, x0, t, noise, alphas_cumprod):
        return F.mse_loss(eps_theta(q_sample(x0, t, noise, alphas_cumprod), t), noise)

    def loss_on_x0(eps_theta, x0, t, noise, alphas_cumprod):  # predicts eps from x0, not x_t
        return F.mse_loss(eps_theta(x0, t), noise)

    g = grader()
    g.q_sample(q_sample, name="right")
    g.q_sample(q_sample_one_t, name="one t")
    g.ddpm_loss(loss, name="loss")
    g.ddpm_loss(loss_on_x0, name="loss on x0")
    assert scores(g) == {"right": 1, "one t": 0, "loss": 1, "loss on x0": 0}
    assert "one t per example" in g.results[1].output


def test_elbo_against_the_definition_on_the_same_eps():
    from minigen.grading import reference_elbo

    def fresh_noise(x, mu, logvar, eps, decode):     # ignores the given eps
        return reference_elbo(x, mu, logvar, mg.randn(*eps.shape, dtype=eps.dtype), decode)

    def no_reparam(x, mu, logvar, eps, decode):      # z detached: no gradient through z
        z = (mu + (0.5 * logvar).exp() * eps).detach()
        return reference_elbo(x, mu, logvar, eps, lambda _: decode(z))

    g = grader()
    g.elbo(reference_elbo, name="ref", points=2)
    g.elbo(fresh_noise, name="fresh", points={"value": 1})
    g.elbo(no_reparam, name="detached", points=2)
    assert scores(g) == {"ref: value": 1, "ref: gradient": 1, "fresh: value": 0,
                         "detached: value": 1, "detached: gradient": 0}


def test_gan_step_must_update_only_its_own_player():
    def d_step(G, D, opt_g, opt_d, real, z):
        return adversarial.step_player(D, opt_d, lambda: adversarial.discriminator_loss(
            D(real), D(G(z).detach())))

    def d_step_backward_everywhere(G, D, opt_g, opt_d, real, z):
        opt_d.zero_grad()
        loss = adversarial.discriminator_loss(D(real), D(G(z)))   # not detached
        loss.backward()
        opt_d.step()

    g = grader()
    g.gan_step(d_step, "discriminator", points=2, name="right")
    g.gan_step(d_step_backward_everywhere, "discriminator", points=2, name="leaky")
    assert scores(g) == {"right: only its own player": 1, "right: matches the reference": 1,
                         "leaky: only its own player": 0, "leaky: matches the reference": 1}
    assert "generator's gradient" in g.results[2].output


def test_results_json_is_gradescopes_format(tmp_path):
    g = grader()
    g.check("passes", lambda: None, points=2)
    g.check("fails", lambda: (_ for _ in ()).throw(AssertionError("the centre is on")),
            points=1, visibility="hidden")
    data = json.loads(open(g.write_results(tmp_path / "results.json")).read())
    assert data["score"] == 2
    assert data["tests"][1] == {"name": "fails", "score": 0, "max_score": 1,
                                "output": "raised AssertionError: the centre is on\n" +
                                data["tests"][1]["output"].split("\n", 1)[1],
                                "visibility": "hidden"}
    assert set(data["tests"][0]) == {"name", "score", "max_score", "output", "visibility"}


def test_points_split_and_unknown_parts():
    assert split_points(3, ["a", "b", "c"], "x") == {"a": 1, "b": 1, "c": 1}
    assert split_points({"b": 2}, ["a", "b"], "x") == {"b": 2}
    with pytest.raises(ValueError, match="unknown part"):
        split_points({"z": 1}, ["a"], "x")


def test_a_submission_that_cannot_be_imported_fails_each_check(tmp_path):
    path = tmp_path / "student.py"
    path.write_text("def softmax(x):\n    return x +\n")
    student = load_submission(str(path))
    g = grader()
    g.function(student.softmax, lambda x: x, points={"forward": 1})
    assert g.score == 0 and "could not be imported" in g.results[0].output
    assert "SyntaxError" in g.results[0].output


def test_reference_elbo_is_minigens_vae_on_the_same_eps():
    from minigen import data
    from minigen.grading import reference_elbo
    model = mg.models.create("vae", data="digits-binary").double()
    x = mg.tensor(data.load("digits-binary", "test").x[:4].astype(np.float64))
    mg.manual_seed(3)
    expected = model.elbo(x).numpy()
    with mg.no_grad():
        mu, logvar = model.encode(x)
    mg.manual_seed(3)      # the VAE's one draw: eps for z = mu + exp(logvar / 2) eps
    eps = mg.randn(*mu.shape, dtype=mu.dtype)
    got = reference_elbo((x + 1) * 0.5, mu, logvar, eps, model.decode).numpy()   # pixels 0/1
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_forward_is_checked_on_non_contiguous_inputs_too():
    class FlatReverse(mg.autograd.Function):      # reads the buffer as if it were C-ordered
        def forward(self, x):
            flat = np.frombuffer(np.ascontiguousarray(x).tobytes() if x.flags.c_contiguous
                                 else x.base.tobytes(), dtype=x.dtype)[: x.size]
            return flat.reshape(x.shape) * 2.0

    g = grader()
    g.function(FlatReverse.apply, lambda x: x * 2, min_dims=2, points={"forward": 1},
               name="buffer")
    assert g.score == 0 and "non-contiguous memory" in g.results[0].output


def test_a_missing_function_or_a_failing_constructor_costs_only_its_checks(tmp_path):
    path = tmp_path / "student.py"
    path.write_text("def Linear(*args):\n    raise NotImplementedError('todo')\n")
    student = load_submission(str(path))
    g = grader()
    g.function(student.softmax, lambda x: x, points={"forward": 1}, name="softmax")
    g.module(lambda: student.Linear(3, 2), nn.Linear(3, 2), input_shape=(3,),
             points={"state_dict": 1, "forward": 1})
    g.check("sanity", lambda: None, points=1)
    assert g.score == 1 and g.max_score == 4
    assert "defines no 'softmax'" in g.results[0].output
    assert "NotImplementedError: todo" in g.results[1].output
