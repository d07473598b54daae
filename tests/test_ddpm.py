"""Specifications of DDPM (lecture §6.1): the forward process, the posterior, the samplers with an
exact noise predictor, classifier-free guidance, the noise predictors and training."""
import math

import numpy as np
import pytest

import minigen as mg
from minigen import models, nn
from minigen.models.ddpm import DDPM
from minigen.models.diffusion_schedule import DiffusionSchedule, make_betas
from minigen.models.unet import MLPDenoiser, UNet, timestep_embedding

T = 1000


@pytest.fixture(scope="module")
def schedule():
    return DiffusionSchedule.from_name("linear", T)


# ---------------------------------------------------------------------------- forward process


def test_linear_schedule_runs_from_1e4_to_002_and_ends_near_pure_noise(schedule):
    assert schedule.betas[0] == pytest.approx(1e-4) and schedule.betas[-1] == pytest.approx(0.02)
    assert np.all(np.diff(schedule.betas) > 0)
    # alpha_bar_T = prod (1 - beta_t) = 4.036e-5 for Ho et al.'s schedule: x_T is almost N(0, I)
    assert schedule.alphas_cumprod[-1] == pytest.approx(np.prod(1 - schedule.betas), rel=1e-12)
    assert 3.9e-5 < schedule.alphas_cumprod[-1] < 4.2e-5


def test_cosine_schedule_follows_the_squared_cosine_of_alpha_bar():
    betas = make_betas("cosine", T)
    alpha_bar = np.cumprod(1 - betas)
    s, t = 0.008, np.arange(1, T + 1)
    f = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2 / np.cos(s / (1 + s) * np.pi / 2) ** 2
    unclipped = betas < 0.999
    np.testing.assert_allclose(alpha_bar[unclipped], f[unclipped], rtol=1e-9)
    assert np.all(betas <= 0.999) and alpha_bar[-1] < 1e-6


def test_other_timesteps_keep_the_linear_schedule_ending_near_noise():
    for timesteps in (10, 100, 250, 4000):
        assert make_betas("linear", timesteps)[0] > 0
        assert np.prod(1 - make_betas("linear", timesteps)) < 1e-3


def test_bad_schedule_arguments_are_rejected():
    with pytest.raises(ValueError, match="schedule"):
        make_betas("quadratic", T)
    with pytest.raises(ValueError, match="timesteps"):
        make_betas("linear", 1)


@pytest.mark.parametrize("t", [0, 9, 299, 999])
def test_closed_form_q_xt_given_x0_matches_iterating_the_chain(schedule, t):
    rng = np.random.default_rng(t)
    n = 20_000
    x0 = np.array([1.5, -0.7, 0.0])
    x = np.broadcast_to(x0, (n, 3)).copy()
    for s in range(t + 1):                       # x_(s+1) = sqrt(1 - beta) x_s + sqrt(beta) eps
        x = schedule.q_step(x, s, rng.standard_normal(x.shape))
    alpha_bar = schedule.alphas_cumprod[t]
    mean, var = math.sqrt(alpha_bar) * x0, 1 - alpha_bar
    # five standard errors of the sample mean and of the sample variance
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * math.sqrt(var / n))
    np.testing.assert_allclose(x.var(0), var, atol=5 * var * math.sqrt(2 / (n - 1)))
    model = DDPM(MLPDenoiser(3, hidden=8, depth=1), (3,))       # the model's closed form
    direct = model.q_sample(mg.tensor(np.broadcast_to(x0, (n, 3)).astype(np.float32)), t).numpy()
    np.testing.assert_allclose(direct.mean(0), mean, atol=5 * math.sqrt(var / n))
    np.testing.assert_allclose(direct.var(0), var, atol=5 * var * math.sqrt(2 / (n - 1)) + 1e-6)


def test_model_q_sample_applies_each_examples_own_timestep():
    model = DDPM(MLPDenoiser(2, hidden=8, depth=1), (2,))
    x0 = mg.randn(5, 2)
    noise = mg.randn(5, 2)
    t = mg.tensor(np.array([0, 1, 500, 998, 999]))
    x_t = model.q_sample(x0, t, noise).numpy()
    ab = model.schedule.alphas_cumprod[t.numpy()][:, None]
    np.testing.assert_allclose(x_t, np.sqrt(ab) * x0.numpy() + np.sqrt(1 - ab) * noise.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert model.alphas_cumprod.shape == (T,) and model.betas.shape == (T,)
    with pytest.raises(ValueError, match="0..999"):
        model.q_sample(x0, mg.tensor(np.array([0, 1, 2, 3, 1000])), noise)


# ---------------------------------------------------------------------------- the posterior


@pytest.mark.parametrize("t", [0, 1, 50, 500, 999])
def test_posterior_mean_equals_epsilon_form_with_the_true_noise(schedule, t):
    rng = np.random.default_rng(1)
    x0, eps = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    ab = schedule.alphas_cumprod[t]
    x_t = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps          # q_sample, in float64
    np.testing.assert_allclose(schedule.posterior_mean(x_t, x0, t),
                               schedule.eps_mean(x_t, eps, t), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(schedule.predict_x0(x_t, t, eps), x0, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("t", [1, 10, 500, 999])
def test_posterior_is_the_gaussian_conditional_of_x_prev_given_x_t(schedule, t):
    # Given x_0: x_(t-1) = sqrt(ab_prev) x_0 + sqrt(1 - ab_prev) e1, x_t = sqrt(alpha_t) x_(t-1)
    # + sqrt(beta_t) e2, a joint Gaussian; condition on x_t by the Schur complement.
    ab_prev, ab = schedule.alphas_cumprod_prev[t], schedule.alphas_cumprod[t]
    var_prev, cov, var_t = 1 - ab_prev, math.sqrt(schedule.alphas[t]) * (1 - ab_prev), 1 - ab
    x0, x_t = 0.8, -0.3
    mean = math.sqrt(ab_prev) * x0 + cov / var_t * (x_t - math.sqrt(ab) * x0)
    assert schedule.posterior_mean(x_t, x0, t) == pytest.approx(mean, rel=1e-9)
    assert schedule.posterior_variance[t] == pytest.approx(var_prev - cov ** 2 / var_t, rel=1e-9)


# ---------------------------------------------------------------------------- samplers, exact eps


class ExactMixtureEps(nn.Module):
    """The optimal noise predictor E[eps | x_t] for data drawn evenly from N(c_k, s^2 I):

        x_t | k ~ N(sqrt(ab) c_k, v I), v = ab s^2 + 1 - ab,
        E[eps | x_t] = sum_k P(k | x_t) sqrt(1 - ab) (x_t - sqrt(ab) c_k) / v,

    which for one component is sqrt(1 - ab) (x_t - sqrt(ab) m) / (ab s^2 + 1 - ab)."""

    def __init__(self, centers, std, alphas_cumprod):
        super().__init__()
        self.centers, self.std = np.atleast_2d(centers), std
        self.alphas_cumprod = alphas_cumprod

    def forward(self, x_t, t, y=None):
        ab = self.alphas_cumprod[t.numpy()][:, None, None]
        v = ab * self.std ** 2 + 1 - ab
        r = x_t.numpy().astype(np.float64)[:, None, :] - np.sqrt(ab) * self.centers[None]
        log_w = -(r ** 2).sum(-1, keepdims=True) / (2 * v)
        w = np.exp(log_w - log_w.max(1, keepdims=True))
        eps = (w / w.sum(1, keepdims=True) * np.sqrt(1 - ab) * r / v).sum(1)
        return mg.tensor(eps.astype(np.float32))


@pytest.fixture(scope="module")
def gaussian_model():
    mean, std = np.array([1.0, -0.5]), 0.5
    alphas_cumprod = DiffusionSchedule.from_name("linear", T).alphas_cumprod
    return DDPM(ExactMixtureEps(mean, std, alphas_cumprod), (2,)), mean, std


def _assert_moments(x, mean, std, bias):
    n = len(x)
    var = std ** 2
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * std / math.sqrt(n) + bias * std)
    cov = np.cov(x.T)
    np.testing.assert_allclose(np.diag(cov), var, atol=5 * var * math.sqrt(2 / n) + bias * var)
    assert abs(cov[0, 1]) < 5 * var / math.sqrt(n)


def test_ancestral_sampler_with_exact_eps_recovers_the_gaussian(gaussian_model):
    model, mean, std = gaussian_model
    mg.manual_seed(0)
    x = model.sample(10_000)
    # The chain with sigma_t^2 = beta_t is exact up to O(1/T): 0.3% in the variance here.
    _assert_moments(x, mean, std, bias=0.01)


def test_ddim_with_exact_eps_recovers_the_gaussian(gaussian_model):
    model, mean, std = gaussian_model
    mg.manual_seed(1)
    # 250 deterministic steps lose 2.3% of the variance (see the next test)
    _assert_moments(model.sample(10_000, steps=250), mean, std, bias=0.03)


def test_coarse_ddim_underdisperses_but_keeps_the_mean(gaussian_model):
    # Each deterministic step with the exact eps shrinks the variance a little (Cauchy-Schwarz),
    # so 50 steps give about 11% less variance than the data while the mean stays put.
    model, mean, std = gaussian_model
    mg.manual_seed(2)
    x = model.sample(10_000, steps=50)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.02)
    assert np.all((0.8 * std ** 2 < x.var(0)) & (x.var(0) < std ** 2))


def test_stochastic_ddim_keeps_the_mean_and_draws_fresh_noise(gaussian_model):
    # eta = 1 adds sigma z with sigma^2 the strided chain's posterior variance: x_0_hat is a
    # point estimate, so 50 such steps underdisperse more than eta = 0 does (about 21% against
    # 11% here); with a trained eps_theta the noise instead corrects its errors (README numbers)
    model, mean, std = gaussian_model
    mg.manual_seed(3)
    x = model.sample(10_000, steps=50, eta=1.0)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.02)
    assert np.all((0.7 * std ** 2 < x.var(0)) & (x.var(0) < 0.85 * std ** 2))
    mg.manual_seed(3)
    assert not np.allclose(model.sample(100, steps=50, eta=1.0), x[:100])


@pytest.mark.parametrize("steps, n", [(None, 400), (50, 2000)])
def test_samplers_with_exact_eps_cover_every_mode_of_grid25(steps, n):
    # The samplers and the model's standardization of toy data, isolated from learning: with the
    # exact eps of the 25 narrow Gaussians nearly every sample lands within 3 sigma of a centre
    # (98.9% of the data does).
    from minigen import data as datasets, metrics
    ds = datasets.load("grid25", "train")
    built = models.create("ddpm", ds, hidden=8, depth=1)
    mean, scale = built.data_mean.numpy(), built.data_scale
    net = ExactMixtureEps((ds.centers - mean) / scale, ds.sigma / scale,
                          built.schedule.alphas_cumprod)
    model = DDPM(net, (2,), data_mean=mean, data_scale=scale)
    mg.manual_seed(0)
    coverage = metrics.mode_coverage(model.sample(n, steps=steps), ds.centers, ds.sigma)
    assert coverage["modes_covered"] == 25 and coverage["hq_fraction"] > 0.95


@pytest.mark.parametrize("spacing", ["uniform", "quadratic"])
def test_ddim_timesteps_are_distinct_descending_and_cover_both_ends(schedule, spacing):
    for steps in (1, 2, 50, 999, 1000):
        ts = schedule.ddim_timesteps(steps, spacing)
        assert len(ts) == steps and ts[0] == T - 1 and (steps == 1 or ts[-1] == 0)
        assert np.all(np.diff(ts) < 0)
    with pytest.raises(ValueError, match="DDIM steps"):
        schedule.ddim_timesteps(0)
    with pytest.raises(ValueError, match="DDIM spacing 'log'"):
        schedule.ddim_timesteps(10, "log")


def test_quadratic_ddim_timesteps_crowd_towards_t_zero(schedule):
    uniform, quadratic = schedule.ddim_timesteps(50), schedule.ddim_timesteps(50, "quadratic")
    np.testing.assert_array_equal(uniform, np.round(np.linspace(T - 1, 0, 50)))
    # the gaps grow with t: quadratic's last (smallest-t) gaps are one step, its first are wide
    gaps = -np.diff(quadratic)
    assert gaps[-1] == 1 and gaps[0] > 1.5 * (T - 1) / 49 and np.all(np.diff(gaps) <= 0)
    assert quadratic[25] == round((24 / 49) ** 2 * (T - 1))


# ---------------------------------------------------------------------------- guidance


def _conditional_mlp_model(seed=0):
    mg.manual_seed(seed)
    return DDPM(MLPDenoiser(2, hidden=16, depth=2, num_classes=3), (2,), num_classes=3)


def test_guided_eps_is_one_plus_w_conditional_minus_w_unconditional():
    model = _conditional_mlp_model()
    x, y = mg.randn(6, 2), mg.tensor(np.array([0, 1, 2, 0, 1, 2]))
    t = mg.tensor(np.array([3, 100, 999, 0, 500, 42]))
    null = mg.tensor(np.full(6, 3))
    with mg.no_grad():
        cond, uncond = model.net(x, t, y).numpy(), model.net(x, t, null).numpy()
        assert not np.allclose(cond, uncond)
        for w in (0.0, 0.5, 3.0):
            np.testing.assert_allclose(model.eps_theta(x, t, y, guidance=w).numpy(),
                                       (1 + w) * cond - w * uncond, rtol=1e-5, atol=1e-6)


def test_guidance_zero_sampling_reproduces_the_plain_conditional_model():
    model = _conditional_mlp_model()
    y = np.array([0, 1, 2, 2])
    mg.manual_seed(5)
    guided0 = model.sample(4, y=y, steps=10, guidance=0.0)
    mg.manual_seed(5)
    x = mg.randn(4, 2)
    ts = model.schedule.ddim_timesteps(10)
    with mg.no_grad():
        for t, t_prev in zip(ts, list(ts[1:]) + [-1]):
            eps = model.net(x, mg.tensor(np.full(4, t)), mg.tensor(y))
            x0 = model.schedule.predict_x0(x, int(t), eps)
            x = model.schedule.ddim_step(x, int(t), int(t_prev), x0, eps)
    np.testing.assert_allclose(guided0, model.to_data_space(x).numpy(), rtol=1e-5, atol=1e-5)
    mg.manual_seed(5)
    assert not np.allclose(model.sample(4, y=y, steps=10, guidance=2.0), guided0)


def test_label_dropout_uses_the_null_label_at_rate_p_uncond():
    model = _conditional_mlp_model()
    y = mg.tensor(np.zeros(20_000, dtype=np.int64))
    dropped = model.drop_labels(y).numpy()
    assert set(np.unique(dropped)) == {0, 3}
    assert abs(np.mean(dropped == 3) - 0.1) < 5 * math.sqrt(0.09 / 20_000)


def test_labels_are_checked():
    model = _conditional_mlp_model()
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        model.sample(2, y=np.array([0, 3]), steps=2)
    unconditional = DDPM(MLPDenoiser(2, hidden=8, depth=1), (2,))
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.sample(2, y=np.array([0, 1]), steps=2)


# ---------------------------------------------------------------------------- networks


def test_time_embedding_differs_between_timesteps():
    emb = timestep_embedding(mg.tensor(np.array([0, 1, 2, 500, 999])), 32).numpy()
    assert emb.shape == (5, 32)
    distances = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    assert np.all(distances[~np.eye(5, dtype=bool)] > 1e-2)
    np.testing.assert_allclose(emb[0], np.r_[np.ones(16), np.zeros(16)])


@pytest.mark.parametrize("size", [8, 28])
@pytest.mark.parametrize("attention, num_classes, channel_mult", [(False, 0, (1, 2)),
                                                                  (True, 10, (1, 2, 2))])
def test_unet_output_has_the_input_shape(size, attention, num_classes, channel_mult):
    mg.manual_seed(0)
    net = UNet(1, size, channels=8, channel_mult=channel_mult, attention=attention,
               num_classes=num_classes)
    x = mg.randn(2, 1, size, size)
    # a class and the null label
    y = mg.tensor(np.array([3, num_classes])) if num_classes else None
    with mg.no_grad():
        out = net(x, mg.tensor(np.array([0, 999])), y)
    assert out.shape == x.shape


def test_unet_output_depends_on_time_and_label():
    mg.manual_seed(0)
    net = UNet(1, 8, channels=8, channel_mult=(1, 2), num_classes=3)
    for p in (net.conv_out.weight, net.conv_out.bias):   # starts at zero: give it some weight
        p.data[...] = np.random.default_rng(0).normal(size=p.shape) * 0.1
    x = mg.randn(1, 1, 8, 8).expand(2, 1, 8, 8)
    with mg.no_grad():
        by_time = net(x, mg.tensor(np.array([10, 900])), mg.tensor(np.array([1, 1]))).numpy()
        by_label = net(x, mg.tensor(np.array([10, 10])), mg.tensor(np.array([0, 2]))).numpy()
    assert not np.allclose(by_time[0], by_time[1]) and not np.allclose(by_label[0], by_label[1])


def test_unet_rejects_sizes_its_levels_cannot_halve():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet(1, 6, channels=8, channel_mult=(1, 2, 2))


def test_image_samples_stay_in_the_data_range():
    mg.manual_seed(0)
    model = models.create("ddpm", "digits", channels=8, attention=False, timesteps=50)
    for p in (model.net.conv_out.weight, model.net.conv_out.bias):
        p.data[...] = np.random.default_rng(0).normal(size=p.shape)
    x = model.sample(3)
    assert x.shape == (3, 1, 8, 8) and x.min() >= -1 and x.max() <= 1


# ---------------------------------------------------------------------------- training


def _fixed_batch_loss(model, x, y):
    mg.manual_seed(123)                  # the same t, eps and dropped labels before and after
    with mg.no_grad():
        return model.loss(x, y).item()


@pytest.mark.parametrize("data, options, steps", [
    ("ring8", {"hidden": 32, "depth": 2}, 150),
    ("digits", {"channels": 8, "attention": False, "conditional": True}, 25),
])
def test_short_training_lowers_the_loss(data, options, steps):
    from minigen import data as datasets
    ds = datasets.load(data, "train")
    mg.manual_seed(0)
    model = models.create("ddpm", ds, **options)
    x = mg.tensor(ds.x[:128])
    y = mg.tensor(ds.y[:128])
    opt = mg.optim.Adam(model.parameters(), lr=2e-3)
    before = _fixed_batch_loss(model, x, y)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        idx = rng.integers(0, len(ds.x), 32)
        loss = model.loss(mg.tensor(ds.x[idx]), mg.tensor(ds.y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert _fixed_batch_loss(model, x, y) < 0.8 * before
