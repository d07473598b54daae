"""The VAE (minigen/models/vae.py) by the properties that define it (lecture §3.6-3.8).

Statistical tests state their tolerance: a Monte Carlo estimate must fall within 4 standard
errors of its target (a false alarm about once in 16,000 runs; the seeds are fixed, so a run
either always passes or always fails).
"""
import numpy as np
import pytest

import minigen as mg
from minigen import data as datasets, models
from minigen.distributions import Normal
from minigen.models.vae import VAE, standard_normal
from minigen.testing import gradcheck

SHAPE = (1, 8, 8)


def binary_digits(split, n=None):
    """The 8x8 digits thresholded at mid-grey, in the loader's scale (-1 / 1)."""
    x = datasets.load("digits", split).x[:n]
    return np.where(x > 0, 1.0, -1.0).astype(np.float32)


def small_vae(likelihood="bernoulli", arch="mlp", seed=0, **kw):
    mg.manual_seed(seed)
    levels = 2 if likelihood == "bernoulli" else 17
    return VAE(SHAPE, levels, latent_dim=kw.pop("latent_dim", 4), hidden=kw.pop("hidden", 32),
               arch=arch, likelihood=likelihood, **kw)


def train(model, x, steps, lr=3e-3, batch=64):
    optimizer = mg.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        loss = model.loss(mg.tensor(x[rng.integers(0, len(x), batch)]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def test_analytic_kl_equals_its_monte_carlo_estimate_within_four_standard_errors():
    model = small_vae(latent_dim=3)
    x = mg.tensor(binary_digits("train", 4))
    mu, logvar = model.encode(x)
    rng = np.random.default_rng(0)
    mu = mg.tensor(mu.numpy() + rng.normal(0, 1, mu.shape).astype(np.float32)).double()
    logvar = mg.tensor(rng.normal(0, 1, logvar.shape)).double()
    _, kl = model_kl(mu, logvar)
    q, p = Normal.from_logvar(mu, logvar), standard_normal(mu)
    z = q.sample((20000,))
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(dim=2).numpy()      # (S, N)
    estimate, se = log_ratio.mean(0), log_ratio.std(0) / np.sqrt(len(log_ratio))
    assert np.all(np.abs(estimate - kl.numpy()) < 4 * se), (estimate, kl.numpy(), se)


def model_kl(mu, logvar):
    """The KL term of VAE.elbo_terms for a given q (it reads the encoder's output only)."""
    class Fixed(VAE):
        def encode(self, x):
            return mu, logvar
    model = Fixed(SHAPE, 2, latent_dim=mu.shape[1], hidden=8).double()
    return model.elbo_terms(mg.zeros(mu.shape[0], *SHAPE, dtype=np.float64))


def _bounds(model, x, ks, repeats):
    """ELBO and IWAE_k of each example, averaged over ``repeats`` independent evaluations,
    and the standard errors of those means."""
    with mg.no_grad():
        rows = {"elbo": [model.elbo(x).numpy() for _ in range(repeats)]}
        for k in ks:
            rows[k] = [model.iwae(x, k).numpy() for _ in range(repeats)]
    return {key: np.mean(v) for key, v in rows.items()}, \
        {key: np.std(np.mean(v, axis=1)) / np.sqrt(repeats) for key, v in rows.items()}


def test_iwae_is_at_least_the_elbo_and_does_not_decrease_with_k():
    """In expectation ELBO = IWAE_1 <= IWAE_5 <= IWAE_50; each mean (over 20 evaluations of 64
    test digits) may fall short of the previous by at most 4 standard errors of the two."""
    x_train = binary_digits("train")
    model = train(small_vae(), x_train, 300)
    x = mg.tensor(binary_digits("test", 64))
    mean, se = _bounds(model, x, (1, 5, 50), repeats=20)
    assert abs(mean[1] - mean["elbo"]) < 4 * np.hypot(se[1], se["elbo"])
    assert mean[5] > mean[1] - 4 * np.hypot(se[5], se[1])
    assert mean[50] > mean[5] - 4 * np.hypot(se[50], se[5])
    # and the gap is real: importance weighting tightens an imperfect q
    assert mean[50] > mean["elbo"] + 4 * np.hypot(se[50], se["elbo"])


def test_reparametrized_gradient_matches_finite_differences_at_a_fixed_eps():
    model = small_vae().double()
    x = mg.tensor(binary_digits("train", 3)).double()
    mu0, logvar0 = (t.detach() for t in model.encode(x))

    def elbo_of(mu, logvar):
        mg.manual_seed(7)          # the same eps at every evaluation: z is a function of mu, logvar
        q = Normal.from_logvar(mu, logvar)
        z = q.rsample()
        from minigen.distributions import kl_divergence
        return model.log_likelihood(x, z) - kl_divergence(q, standard_normal(mu)).sum(dim=1)

    mu = mg.tensor(mu0.numpy(), requires_grad=True)
    logvar = mg.tensor(logvar0.numpy(), requires_grad=True)
    gradcheck(elbo_of, [mu, logvar])


@pytest.mark.parametrize("likelihood, arch", [("bernoulli", "mlp"), ("bernoulli", "conv"),
                                              ("logistic", "mlp"), ("gaussian", "conv")])
def test_a_short_run_raises_the_test_elbo(likelihood, arch):
    if likelihood == "bernoulli":
        x_train, x_test = binary_digits("train"), binary_digits("test", 200)
    else:
        x_train = datasets.load("digits", "train").x
        x_test = datasets.load("digits", "test").x[:200]
    model = small_vae(likelihood, arch)
    x = mg.tensor(x_test)
    mg.manual_seed(1)
    with mg.no_grad():
        before = model.elbo(x).numpy().mean()
    train(model, x_train, 150)
    mg.manual_seed(1)
    with mg.no_grad():
        after = model.elbo(x).numpy().mean()
    assert after > before + 5.0, (before, after)
    assert after < 0


def test_training_step_logs_reconstruction_and_kl_that_add_up_to_the_loss():
    model = small_vae()
    optimizers = model.configure_optimizers(1e-3)
    losses = model.training_step((mg.tensor(binary_digits("train", 32)),), optimizers, 0)
    assert set(losses) == {"loss", "reconstruction", "kl"}
    assert losses["kl"] >= 0 and losses["reconstruction"] > 0
    np.testing.assert_allclose(losses["loss"], losses["reconstruction"] + losses["kl"], rtol=1e-5)


def test_beta_weights_the_kl_in_the_loss_only():
    x = mg.tensor(binary_digits("train", 16))
    plain, heavy = small_vae(beta=1.0), small_vae(beta=4.0)
    mg.manual_seed(3)
    loss_1 = plain.loss(x).item()
    mg.manual_seed(3)
    loss_4 = heavy.loss(x).item()
    np.testing.assert_allclose(loss_4 - loss_1, 3.0 * heavy.logged["kl"], rtol=1e-4)
    mg.manual_seed(3)
    elbo_1 = plain.elbo(x).numpy()
    mg.manual_seed(3)
    np.testing.assert_allclose(heavy.elbo(x).numpy(), elbo_1, rtol=1e-6)


def test_samples_reconstructions_and_interpolations_are_images_in_the_data_scale():
    model = small_vae()
    x = mg.tensor(binary_digits("test", 4))
    with mg.no_grad():
        samples = model.sample(5)
        assert samples.shape == (5,) + SHAPE and set(np.unique(samples)) <= {-1.0, 1.0}
        means = model.sample(5, mean=True)
        assert means.min() >= -1 and means.max() <= 1 and len(np.unique(means)) > 2
        assert model.reconstruct(x).shape == (4,) + SHAPE
        path = model.interpolate(x[:2], x[2:], steps=6)
        assert path.shape == (2, 6) + SHAPE
        np.testing.assert_allclose(path[:, 0], model.reconstruct(x[:2]), atol=1e-6)


@pytest.mark.parametrize("options, match", [
    ({"arch": "rnn"}, "arch must be one of mlp, conv"),
    ({"likelihood": "poisson"}, "likelihood must be"),
    ({"likelihood": "bernoulli"}, "Bernoulli decoder needs binarized data"),
    ({"beta": -1.0}, "beta must be"),
    ({"latent_dim": 0}, "'latent_dim' of model 'vae' must be in 1..4096"),
])
def test_bad_options_are_refused_with_a_sentence(options, match):
    with pytest.raises(ValueError, match=match):
        models.create("vae", "digits", **options)


def test_the_registered_vae_declares_what_it_implements():
    model = models.create("vae", "digits", arch="conv")
    models.check_declared(model)
    assert isinstance(model, models.LatentVariableModel) and isinstance(model, models.SamplingModel)
    with pytest.raises(ValueError, match="shape"):
        model.elbo(mg.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="k >= 1"):
        model.iwae(mg.zeros(2, *SHAPE), 0)


def test_figures_hook_writes_the_interpolation_and_the_latent_map(tmp_path):
    model = models.create("vae", "digits-binary", hidden=16)
    written = model.figures(str(tmp_path), datasets.load("digits-binary", "train"))
    assert written == ["interpolation.png", "latent.png"]
    assert all((tmp_path / name).stat().st_size > 0 for name in written)
