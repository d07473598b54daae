"""minigen.distributions as specifications: each log_prob, entropy and KL agrees with
torch.distributions (or, for the discretized logistics, a torch twin of the textbook formula) in
value, gradient and second-order gradient; the discrete ones sum to one over their support; all
stay finite at extreme parameters; samples follow the probabilities."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigen as mg
from minigen import distributions as D
from minigen.data import to_levels
from minigen.testing import arrays, broadcastable_shapes, gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TD = torch.distributions
from nn_oracle import check_function  # noqa: E402

rng = np.random.default_rng(0)


def _mg(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# --------------------------------------------------------------------------- Normal
@settings(max_examples=8)
@given(st.data())
def test_normal_log_prob_and_entropy_match_torch_with_broadcasting(data):
    sx, sm, ss = data.draw(broadcastable_shapes(3, max_dims=3))
    x = data.draw(arrays(sx))
    mu = data.draw(arrays(sm))
    scale = data.draw(arrays(ss, elements=st.floats(0.3, 3.0)))
    check_function(lambda x, m, s: D.Normal(m, s).log_prob(x),
                   lambda x, m, s: TD.Normal(m, s).log_prob(x), [x, mu, scale])
    check_function(lambda m, s: D.Normal(m, s).entropy(),
                   lambda m, s: TD.Normal(m, s).entropy(), [mu, scale])


def test_normal_from_logvar_keeps_extreme_log_scales_exact():
    mu, logvar = rng.standard_normal(5), np.array([-80.0, -10.0, 0.0, 10.0, 80.0])
    check_function(lambda m, lv: D.Normal.from_logvar(m, lv).log_prob(m * 0.5),
                   lambda m, lv: TD.Normal(m, (lv / 2).exp()).log_prob(m * 0.5), [mu, logvar],
                   rtol=1e-6)
    entropy = D.Normal.from_logvar(_mg(mu), _mg(logvar)).entropy().numpy()
    assert np.allclose(entropy, 0.5 * logvar + 0.5 + 0.5 * np.log(2 * np.pi), rtol=1e-12)


def test_normal_rsample_is_reparametrized_and_sample_is_detached():
    mu, logvar = _mg(rng.standard_normal(4)), _mg(rng.standard_normal(4))
    mg.manual_seed(3)
    q = D.Normal.from_logvar(mu, logvar)
    z = q.rsample()
    mg.manual_seed(3)
    eps = mg.randn(4, dtype=mg.float64).numpy()
    assert np.allclose(z.numpy(), mu.numpy() + np.exp(0.5 * logvar.numpy()) * eps)
    gm, glv = mg.autograd.grad(z.sum(), [mu, logvar])
    assert np.allclose(gm.numpy(), 1.0)
    assert np.allclose(glv.numpy(), 0.5 * np.exp(0.5 * logvar.numpy()) * eps)
    assert not q.sample((2,)).requires_grad and q.sample((2,)).shape == (2, 4)


def test_normal_kl_matches_torch_to_second_order():
    m1, m2 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    s1, s2 = rng.uniform(0.2, 3, (3, 4)), rng.uniform(0.2, 3, (3, 4))
    check_function(lambda a, b, c, d: D.kl_divergence(D.Normal(a, b), D.Normal(c, d)),
                   lambda a, b, c, d: TD.kl_divergence(TD.Normal(a, b), TD.Normal(c, d)),
                   [m1, s1, m2, s2])


def test_normal_kl_to_standard_normal_is_the_vae_term():
    mu, logvar = rng.standard_normal((2, 3)), rng.uniform(-20, 20, (2, 3))
    kl = D.kl_divergence(D.Normal.from_logvar(_mg(mu), _mg(logvar)), D.Normal(0.0, 1.0))
    expected = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)
    assert kl.dtype == np.float64 and np.allclose(kl.numpy(), expected, rtol=1e-10)


def test_normal_rejects_a_non_positive_scale():
    with pytest.raises(ValueError, match="scale > 0"):
        D.Normal(0.0, 0.0)


# --------------------------------------------------------------------------- Bernoulli
def test_bernoulli_matches_torch_to_second_order():
    logits, x = rng.standard_normal((3, 5)) * 3, rng.integers(0, 2, (3, 5)).astype(np.float64)
    check_function(lambda l, x: D.Bernoulli(l).log_prob(x),
                   lambda l, x: TD.Bernoulli(logits=l).log_prob(x), [logits, x],
                   differentiable=[0])
    check_function(lambda l: D.Bernoulli(l).entropy(),
                   lambda l: TD.Bernoulli(logits=l).entropy(), [logits])
    other = rng.standard_normal((3, 5))
    check_function(lambda a, b: D.kl_divergence(D.Bernoulli(a), D.Bernoulli(b)),
                   lambda a, b: TD.kl_divergence(TD.Bernoulli(logits=a), TD.Bernoulli(logits=b)),
                   [logits, other])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_is_finite_and_exact_at_logits_of_plus_minus_100(dtype):
    logits = mg.tensor(np.array([-100.0, -100.0, 100.0, 100.0], dtype=dtype), requires_grad=True)
    x = mg.tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype))
    lp = D.Bernoulli(logits).log_prob(x)
    assert np.allclose(lp.numpy(), [0.0, -100.0, -100.0, 0.0], atol=1e-6)
    (g,) = mg.autograd.grad(lp.sum(), [logits])
    assert np.all(np.isfinite(g.numpy())) and np.allclose(g.numpy(), [0, 1, -1, 0], atol=1e-6)
    assert np.all(np.isfinite(D.Bernoulli(logits).entropy().numpy()))


def test_bernoulli_samples_follow_sigmoid_of_the_logits():
    mg.manual_seed(0)
    logits = mg.tensor(np.array([-2.0, 0.0, 1.5]))
    freq = D.Bernoulli(logits).sample((20000,)).numpy().mean(0)
    assert np.allclose(freq, 1 / (1 + np.exp(-logits.numpy())), atol=0.015)


# --------------------------------------------------------------------------- Categorical
@pytest.mark.parametrize("dim", [-1, 1])
def test_categorical_matches_torch_to_second_order(dim):
    logits = rng.standard_normal((2, 4, 3)) * 2
    k = rng.integers(0, 4 if dim == 1 else 3, (2, 3) if dim == 1 else (2, 4))

    def moved(t):
        return t if dim == -1 else t.movedim(1, -1)
    check_function(lambda l, k: D.Categorical(l, dim=dim).log_prob(k),
                   lambda l, k: TD.Categorical(logits=moved(l)).log_prob(k), [logits, k])
    check_function(lambda l: D.Categorical(l, dim=dim).entropy(),
                   lambda l: TD.Categorical(logits=moved(l)).entropy(), [logits])
    other = rng.standard_normal((2, 4, 3))
    check_function(lambda a, b: D.kl_divergence(D.Categorical(a, dim), D.Categorical(b, dim)),
                   lambda a, b: TD.kl_divergence(TD.Categorical(logits=moved(a)),
                                                 TD.Categorical(logits=moved(b))),
                   [logits, other])


def test_categorical_is_finite_at_logits_of_plus_minus_100():
    logits = mg.tensor(np.array([[100.0, -100.0, 0.0]], dtype=np.float32), requires_grad=True)
    lp = D.Categorical(logits).log_prob(np.array([1]))
    assert np.isclose(lp.item(), -200.0, rtol=1e-6)
    (g,) = mg.autograd.grad(lp.sum(), [logits])
    assert np.all(np.isfinite(g.numpy()))
    assert np.isfinite(D.Categorical(logits).entropy().item())


def test_categorical_samples_follow_softmax_and_rejects_bad_indices():
    mg.manual_seed(1)
    logits = mg.tensor(np.array([0.5, -1.0, 2.0, 0.0]))
    k = D.Categorical(logits).sample((20000,)).numpy()
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum()
    assert np.allclose(np.bincount(k, minlength=4) / len(k), p, atol=0.015)
    with pytest.raises(ValueError, match="0..3"):
        D.Categorical(logits).log_prob(np.array(4))
    with pytest.raises(TypeError, match="integer"):
        D.Categorical(logits).log_prob(np.array(1.0))


# --------------------------------------------------------------------------- discretized logistic
def torch_level_log_mass(k, mean, log_scale, levels):
    """The textbook formula log(CDF(c + h) - CDF(c - h)), edges to +-inf, in torch."""
    s = log_scale.clamp(min=D.LOG_SCALE_MIN).exp()
    h = 1.0 / (levels - 1)
    c = torch.as_tensor(2.0 * k / (levels - 1) - 1.0, dtype=mean.dtype)
    k = torch.as_tensor(k)
    # above the mean, the same difference of survival functions (both CDFs near 1 would cancel)
    sign = torch.where(c > mean, -torch.ones_like(c), torch.ones_like(c))
    upper = torch.where(k == levels - 1, (sign + 1) / 2, torch.sigmoid(sign * (c + h - mean) / s))
    lower = torch.where(k == 0, (1 - sign) / 2, torch.sigmoid(sign * (c - h - mean) / s))
    return (sign * (upper - lower)).log()


@pytest.mark.parametrize("levels", [2, 17, 256])
def test_discretized_logistic_matches_the_textbook_formula_in_torch(levels):
    k = rng.integers(0, levels, (3, 6))
    k[0, :2] = (0, levels - 1)                           # both edge levels
    x = 2.0 * k / (levels - 1) - 1.0
    mean, log_scale = rng.uniform(-1, 1, (3, 6)), rng.uniform(-3, 0, (3, 6))
    check_function(lambda m, ls: D.DiscretizedLogistic(m, ls, levels).log_prob(mg.tensor(x)),
                   lambda m, ls: torch_level_log_mass(k, m, ls, levels), [mean, log_scale],
                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("levels", [2, 17, 256])
def test_discretized_logistic_sums_to_one_even_at_extreme_parameters(levels):
    mean = np.array([-30.0, -1.0, 0.3, 1.0, 30.0, 0.0, 0.0, 0.5])
    log_scale = np.array([-7.0, -9.0, -2.0, 0.0, 10.0, -7.0, 10.0, 3.0])
    ks = np.arange(levels)[:, None]
    x = mg.tensor(2.0 * ks / (levels - 1) - 1.0 + 0 * mean)
    lp = D.DiscretizedLogistic(_mg(mean, False), _mg(log_scale, False), levels).log_prob(x)
    assert np.all(np.isfinite(lp.numpy()))
    assert np.allclose(np.exp(lp.numpy()).sum(0), 1.0, atol=1e-6)


def test_discretized_logistic_passes_gradcheck_and_gradgradcheck_on_both_series_branches():
    levels = 256
    k = np.array([0, 3, 128, 200, 255, 77])
    x = mg.tensor(2.0 * k / (levels - 1) - 1.0)
    mean = _mg([-0.9, -0.5, 0.01, 0.6, 0.97, 0.0])
    log_scale = _mg([-4.0, -2.0, -1.0, 8.0, -3.0, -5.2])     # d = 2h/s on both sides of 0.1
    fn = lambda m, ls: D.DiscretizedLogistic(m, ls, levels).log_prob(x)  # noqa: E731
    gradcheck(fn, [mean, log_scale])
    gradgradcheck(fn, [mean, log_scale])


def test_discretized_logistic_samples_follow_its_level_masses():
    mg.manual_seed(2)
    levels, mean, log_scale = 5, 0.2, -1.0
    dist = D.DiscretizedLogistic(_mg(mean, False), _mg(log_scale, False), levels)
    x = dist.sample((30000,)).numpy()
    k = to_levels(x, levels)
    assert np.allclose(x, 2.0 * k / (levels - 1) - 1.0)
    grid = mg.tensor(np.linspace(-1, 1, levels))
    p = np.exp(D.DiscretizedLogistic(_mg(mean, False), _mg(log_scale, False), levels)
               .log_prob(grid).numpy())
    assert np.allclose(np.bincount(k, minlength=levels) / len(k), p, atol=0.01)


# --------------------------------------------------------------------------- the mixture (PixelCNN++)
def _mixture_params(n, channels, k, pixels, scale=1.0):
    logits = rng.standard_normal((n, k) + pixels) * scale
    means = rng.uniform(-1, 1, (n, channels, k) + pixels)
    log_scales = rng.uniform(-3, 0, (n, channels, k) + pixels)
    coeffs = rng.uniform(-0.9, 0.9, (n, channels * (channels - 1) // 2, k) + pixels)
    return logits, means, log_scales, coeffs


def torch_mixture_log_prob(kx, logits, means, log_scales, coeffs, levels):
    x = torch.as_tensor(2.0 * kx / (levels - 1) - 1.0, dtype=means.dtype)   # (N, C, ...)
    channels = means.shape[1]
    coupled, pair = [], 0
    for c in range(channels):
        m = means[:, c]
        for e in range(c):
            m = m + coeffs[:, pair] * x[:, e:e + 1]
            pair += 1
        coupled.append(m)
    total = logits.log_softmax(1)
    for c in range(channels):
        total = total + torch_level_log_mass(kx[:, c:c + 1], coupled[c], log_scales[:, c], levels)
    return total.logsumexp(1)


@pytest.mark.parametrize("channels", [1, 3])
def test_mixture_matches_a_torch_twin_to_second_order(channels):
    levels, k, pixels = 256, 3, (2, 2)
    params = _mixture_params(2, channels, k, pixels)
    kx = rng.integers(0, levels, (2, channels) + pixels)
    kx[0, 0, 0, 0], kx[1, -1, 1, 1] = 0, levels - 1
    x = mg.tensor(2.0 * kx / (levels - 1) - 1.0)

    def mine(l, m, s, c):
        return D.DiscretizedLogisticMixture(l, m, s, c if channels > 1 else None,
                                            levels).log_prob(x)
    check_function(mine, lambda *p: torch_mixture_log_prob(kx, *p, levels), list(params),
                   rtol=1e-6, atol=1e-8)


@settings(max_examples=6)
@given(st.integers(0, 2 ** 31 - 1))
def test_mixture_probabilities_over_all_bins_sum_to_one(seed):
    r = np.random.default_rng(seed)
    levels, k, n = 256, 4, 6
    logits = r.standard_normal((n, k)) * 30
    means = r.choice([-50.0, -1.0, 0.0, 0.4, 1.0, 50.0], (n, 1, k)) + r.uniform(-0.1, 0.1, (n, 1, k))
    log_scales = r.choice([-9.0, -7.0, -2.0, 0.0, 4.0, 10.0], (n, 1, k))
    grid = np.linspace(-1, 1, levels)
    lp = D.DiscretizedLogisticMixture(
        mg.tensor(logits[..., None]), mg.tensor(means[..., None]),
        mg.tensor(log_scales[..., None])).log_prob(
        mg.tensor(np.broadcast_to(grid, (n, 1, levels)).copy()))         # pixels: the levels
    assert np.all(np.isfinite(lp.numpy()))
    assert np.allclose(np.exp(lp.numpy()).sum(-1), 1.0, atol=1e-6)


def test_colour_mixture_sums_to_one_over_every_joint_pixel_value():
    levels, k = 4, 3
    logits, means, log_scales, coeffs = _mixture_params(1, 3, k, ())
    means[0, :, 0] = (-40.0, 0.2, 40.0)
    log_scales[0, :, 1] = (-7.0, 10.0, -9.0)
    combos = np.array(list(itertools.product(range(levels), repeat=3)))      # (64, 3)
    x = mg.tensor((2.0 * combos / (levels - 1) - 1.0)[..., None])            # pixels: combos
    rep = lambda a: mg.tensor(np.repeat(a[..., None], len(combos), -1))  # noqa: E731
    dist = D.DiscretizedLogisticMixture(rep(logits)[0:1].reshape(1, k, -1).expand(1, k, 64),
                                        rep(means), rep(log_scales), rep(coeffs), levels)
    lp = dist.log_prob(x.permute(2, 1, 0).reshape(1, 3, 64))
    assert np.allclose(np.exp(lp.numpy()).sum(), 1.0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mixture_loss_and_gradients_are_finite_at_the_extremes(dtype):
    levels, k = 256, 4
    kx = np.array([[0, 255, 128, 0, 255, 7]])[:, None]                       # (1, 1, 6) edges
    logits = np.array([[100, -100, 0, 5]] * 6, dtype=np.float64).T[None]     # (1, 4, 6)
    means = np.tile(np.array([-1.0, 1.0, 0.0, 30.0])[:, None], (1, 6))[None, None]
    log_scales = np.tile(np.array([-7.0, 10.0, -7.0, 10.0])[:, None], (1, 6))[None, None]
    params = [mg.tensor(a.astype(dtype), requires_grad=True) for a in (logits, means, log_scales)]
    x = mg.tensor((2.0 * kx / 255 - 1.0).astype(dtype))
    loss = -D.DiscretizedLogisticMixture(*params, levels=levels).log_prob(x).sum()
    grads = mg.autograd.grad(loss, params, create_graph=True)
    assert np.isfinite(loss.item())
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    (gg,) = mg.autograd.grad(sum((g * g).sum() for g in grads), [params[1]])
    assert np.all(np.isfinite(gg.numpy()))


def test_mixture_from_output_splits_channels_and_samples_follow_the_joint():
    levels, k, n = 3, 2, 20000
    out = rng.standard_normal((1, D.DiscretizedLogisticMixture.num_params(3, k), 1))
    out[0, k + 3 * k:k + 6 * k] -= 1.0                                       # narrower scales
    combos = np.array(list(itertools.product(range(levels), repeat=3)))
    x = mg.tensor((2.0 * combos.T / (levels - 1) - 1.0)[None])               # (1, 3, 27)
    joint = D.DiscretizedLogisticMixture.from_output(
        mg.tensor(np.repeat(out, 27, -1)), 3, k, levels).log_prob(x).numpy()[0]
    assert np.isclose(np.exp(joint).sum(), 1.0, atol=1e-9)
    mg.manual_seed(4)
    draws = D.DiscretizedLogisticMixture.from_output(
        mg.tensor(np.repeat(out, n, -1)), 3, k, levels).sample().numpy()[0]  # (3, n)
    kd = to_levels(draws, levels)
    index = (kd[0] * levels + kd[1]) * levels + kd[2]
    assert np.allclose(np.bincount(index, minlength=27) / n, np.exp(joint), atol=0.012)


def test_mixture_rejects_mismatched_shapes_with_a_sentence():
    with pytest.raises(ValueError, match=r"\(N, C, K"):
        D.DiscretizedLogisticMixture(mg.zeros(2, 3, 4), mg.zeros(2, 1, 2, 4), mg.zeros(2, 1, 2, 4))
    with pytest.raises(ValueError, match="coeffs"):
        D.DiscretizedLogisticMixture(mg.zeros(2, 3), mg.zeros(2, 3, 3), mg.zeros(2, 3, 3))
    with pytest.raises(ValueError, match="output channels"):
        D.DiscretizedLogisticMixture.from_output(mg.zeros(2, 7, 4, 4), 1, 3)
    with pytest.raises(NotImplementedError, match="Normal, Bernoulli and Categorical"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(mg.zeros(2)))
