"""The adversarial building blocks: losses from logits (§4.4, §4.6), the gradient penalty (§5.2),
weight clipping, and the one-player step that keeps the other player's parameters untouched."""
import numpy as np
import pytest

import minigen as mg
from minigen import nn, optim
from minigen.models import adversarial as adv


def logits(values, requires_grad=True):
    return mg.tensor(np.asarray(values, np.float64), requires_grad=requires_grad)


def grad_of(loss_fn, x):
    (g,) = mg.autograd.grad(loss_fn(x), x)
    return g.numpy()


# ---------------------------------------------------------------------------- losses


def test_discriminator_loss_is_minus_the_value_function_computed_from_logits():
    real, fake = np.array([2.0, -1.0, 0.5]), np.array([-3.0, 0.3])
    sig = lambda t: 1 / (1 + np.exp(-t))
    expected = -np.mean(np.log(sig(real))) - np.mean(np.log(1 - sig(fake)))
    got = adv.discriminator_loss(logits(real), logits(fake)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_discriminator_loss_stays_finite_for_confident_logits():
    loss = adv.discriminator_loss(logits([100.0, -100.0]), logits([-100.0, 100.0]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(100.0, rel=1e-6)


def test_minimax_gradient_vanishes_and_nonsaturating_does_not_when_d_of_g_is_near_zero():
    """§4.6: with D(G(z)) = sigmoid(-30) ~ 1e-13 the minimax loss log(1 - D) passes G a gradient
    of -sigmoid(l) ~ -1e-13 per logit; the non-saturating -log D passes -(1 - sigmoid(l)) ~ -1."""
    l = logits(np.full(4, -30.0))
    g_minimax = grad_of(lambda t: adv.generator_loss(t, "minimax"), l)
    g_nonsat = grad_of(lambda t: adv.generator_loss(t, "nonsaturating"), l)
    assert np.all(np.isfinite(g_minimax)) and np.all(np.isfinite(g_nonsat))
    np.testing.assert_allclose(g_minimax, -np.exp(-30.0) / 4, rtol=1e-6)
    np.testing.assert_allclose(g_nonsat, -1.0 / 4, rtol=1e-9)
    assert np.all(np.abs(g_nonsat) > 1e10 * np.abs(g_minimax))


def test_both_generator_objectives_have_the_same_fixed_point_direction_near_d_of_g_one_half():
    l = logits([0.0])
    assert grad_of(lambda t: adv.generator_loss(t, "minimax"), l)[0] == pytest.approx(-0.5)
    assert grad_of(lambda t: adv.generator_loss(t, "nonsaturating"), l)[0] == pytest.approx(-0.5)


def test_generator_loss_names_the_valid_kinds():
    with pytest.raises(ValueError, match="minimax, nonsaturating.*'wasserstein'"):
        adv.generator_loss(logits([0.0]), "wasserstein")


def test_losses_refuse_more_than_one_score_per_example():
    with pytest.raises(ValueError, match=r"one score per example.*\(4, 2\)"):
        adv.critic_loss(logits(np.zeros((4, 2))), logits(np.zeros(4)))


def test_wasserstein_losses_are_differences_of_means():
    real, fake = logits([[1.0], [3.0]]), logits([[0.5], [-0.5]])
    assert adv.critic_loss(real, fake).item() == pytest.approx(0.0 - 2.0)
    assert adv.wasserstein_generator_loss(fake).item() == pytest.approx(0.0)


def test_least_squares_losses_on_patch_maps():
    real, fake = logits(np.ones((2, 1, 3, 3))), logits(np.full((2, 1, 3, 3), 0.5))
    assert adv.least_squares_discriminator_loss(real, fake).item() == pytest.approx(0.125)
    assert adv.least_squares_generator_loss(fake).item() == pytest.approx(0.25)


# ---------------------------------------------------------------------------- D* (§4.8)


def test_discriminator_with_generator_fixed_approaches_p_data_over_p_data_plus_p_g():
    """§4.8: for fixed G the optimal D is p_data / (p_data + p_g). Here p_data = N(0, 1) and the
    generator's samples p_g = N(0, 2^2), so D*(x) = 1 / (1 + exp(-log 2 + 3 x^2 / 8))."""
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    d = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = optim.Adam(d.parameters(), lr=3e-2)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=600)   # averages out the noise
    for _ in range(600):
        real = mg.tensor(rng.standard_normal((1024, 1)).astype(np.float32))
        fake = mg.tensor(2.0 * rng.standard_normal((1024, 1)).astype(np.float32))
        adv.step_player(d, opt, lambda: adv.discriminator_loss(d(real), d(fake)))
        schedule.step()
    x = np.linspace(-2.0, 2.0, 41, dtype=np.float32)[:, None]
    with mg.no_grad():
        d_x = d(mg.tensor(x)).sigmoid().numpy()[:, 0]
    d_star = 1 / (1 + np.exp(-np.log(2.0) + 3 * x[:, 0] ** 2 / 8))
    assert np.max(np.abs(d_x - d_star)) < 0.035     # D* ranges over 0.31 .. 0.67 here


# ---------------------------------------------------------------------------- gradient penalty


def test_penalty_of_a_linear_critic_on_images_is_lambda_times_norm_of_w_minus_one_squared():
    """f(x) = <w, x> has grad_x f = w everywhere, so GP = lambda (||w||_2 - 1)^2 with the norm over
    C, H and W together (a per-row or per-channel norm would give a different number)."""
    mg.manual_seed(3)
    rng = np.random.default_rng(1)
    w = mg.tensor(rng.standard_normal((2, 3, 4)) * 0.3)
    critic = lambda x: (x * w).sum(dim=(1, 2, 3))
    real = mg.tensor(rng.standard_normal((5, 2, 3, 4)))
    fake = mg.tensor(rng.standard_normal((5, 2, 3, 4)))
    expected = 10.0 * (np.linalg.norm(w.numpy()) - 1.0) ** 2
    assert adv.gradient_penalty(critic, real, fake, weight=10.0).item() == \
        pytest.approx(expected, rel=1e-10)


def test_interpolates_lie_on_the_segments_with_one_eps_per_example():
    mg.manual_seed(0)
    real, fake = mg.tensor(np.ones((6, 1, 2, 2))), mg.tensor(np.zeros((6, 1, 2, 2)))
    x_hat = adv.interpolate(real, fake).numpy()
    eps = x_hat[:, 0, 0, 0]
    assert np.all((eps >= 0) & (eps < 1)) and len(np.unique(eps)) == 6
    np.testing.assert_array_equal(x_hat, np.broadcast_to(eps[:, None, None, None], x_hat.shape))


def _conv_critic():
    critic = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.Flatten(),
                           nn.Linear(2 * 4 * 4, 1)).double()
    return critic


def test_penalty_gradient_with_respect_to_conv_critic_weights_matches_finite_differences():
    mg.manual_seed(0)
    critic = _conv_critic()
    rng = np.random.default_rng(2)
    real = mg.tensor(rng.standard_normal((3, 1, 4, 4)))
    fake = mg.tensor(rng.standard_normal((3, 1, 4, 4)))
    weight = critic[0].weight

    def penalty():
        mg.manual_seed(7)                       # the same eps in every evaluation
        return adv.gradient_penalty(critic, real, fake, weight=10.0)

    (analytic,) = mg.autograd.grad(penalty(), [weight])
    numeric = np.zeros(weight.shape)
    h = 1e-6
    for index in np.ndindex(*weight.shape):
        saved = weight.data[index]
        weight.data[index] = saved + h
        up = penalty().item()
        weight.data[index] = saved - h
        down = penalty().item()
        weight.data[index] = saved
        numeric[index] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic.numpy(), numeric, rtol=1e-5, atol=1e-8)


def test_penalty_refuses_batches_of_different_shapes():
    critic = lambda x: x.sum(dim=1)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 3\)"):
        adv.gradient_penalty(critic, mg.tensor(np.zeros((2, 3))), mg.tensor(np.zeros((4, 3))))


def test_clip_weights_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    for p in net.parameters():
        p.data *= 100
    adv.clip_weights_(net, 0.01)
    assert all(np.abs(p.numpy()).max() <= 0.01 for p in net.parameters())


# ---------------------------------------------------------------------------- one player's step


def _players():
    mg.manual_seed(0)
    g = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    d = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    return g, d


def _snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("who", ["generator", "discriminator"])
def test_a_step_updates_only_its_own_players_parameters(who):
    g, d = _players()
    opts = {"generator": optim.Adam(g.parameters(), lr=1e-2),
            "discriminator": optim.Adam(d.parameters(), lr=1e-2)}
    z, x = mg.randn(16, 2), mg.randn(16, 2)
    if who == "generator":
        player, other, loss = g, d, lambda: adv.generator_loss(d(g(z)))
    else:
        player, other, loss = d, g, lambda: adv.discriminator_loss(d(x), d(g(z)))
    other_before, player_before = _snapshot(other), _snapshot(player)
    adv.step_player(player, opts[who], loss)
    for key, value in _snapshot(other).items():
        np.testing.assert_array_equal(value, other_before[key])
    assert all(p.grad is None for p in other.parameters())
    assert any(not np.array_equal(v, player_before[k]) for k, v in _snapshot(player).items())


def test_a_step_starts_from_zero_gradients_and_returns_what_the_loss_returned():
    g, d = _players()
    opt = optim.SGD(d.parameters(), lr=0.0)
    x = mg.randn(4, 2)
    for p in d.parameters():
        p.grad = mg.ones_like(p) * 1e6           # stale gradients from elsewhere
    out = adv.step_player(d, opt, lambda: (d(x).mean(), {"note": 1}))
    assert out[1] == {"note": 1}
    (expected,) = mg.autograd.grad(d(x).mean(), [d[2].bias])
    np.testing.assert_allclose(d[2].bias.grad.numpy(), expected.numpy())


def test_a_step_clips_the_players_gradient_norm():
    g, d = _players()
    opt = optim.SGD(d.parameters(), lr=0.0)
    x = mg.randn(4, 2)
    adv.step_player(d, opt, lambda: 1e3 * d(x).mean(), max_grad_norm=1.0)
    total = np.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in d.parameters()))
    assert total == pytest.approx(1.0, rel=1e-4)


def test_a_step_refuses_an_optimizer_of_the_other_player():
    g, d = _players()
    with pytest.raises(ValueError, match="do not belong to the Sequential"):
        adv.step_player(d, optim.Adam(g.parameters()), lambda: d(mg.randn(2, 2)).mean())
