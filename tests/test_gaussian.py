"""The Gaussian baseline (lecture §1, maximum likelihood): density, gradients, sampling, fit."""
import math

import numpy as np
import pytest
import scipy.stats
import torch

import minigen as mg
from minigen import data, models
from minigen.models.gaussian import Gaussian
from minigen.train import Trainer


def random_gaussian(dim, seed=0, shape=None):
    """A float64 Gaussian with random mean and a random (well-conditioned) precision factor."""
    rng = np.random.default_rng(seed)
    model = Gaussian(shape or (dim,)).double()
    model.mu.data[...] = rng.normal(size=dim)
    model.lower.data[...] = rng.normal(scale=0.5, size=(dim, dim))
    model.log_diag.data[...] = rng.normal(scale=0.3, size=dim)
    return model


def test_gaussian_log_prob_equals_scipy_multivariate_normal():
    model = random_gaussian(4)
    x = np.random.default_rng(1).normal(size=(7, 4))
    expected = scipy.stats.multivariate_normal(model.mu.numpy(), model.covariance()).logpdf(x)
    got = model.log_prob(mg.tensor(x)).numpy()
    assert got.shape == (7,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_gaussian_ignores_the_upper_triangle_of_its_lower_parameter():
    model = random_gaussian(3)
    x = mg.tensor(np.random.default_rng(2).normal(size=(5, 3)))
    before = model.log_prob(x).numpy()
    model.lower.data[0, 2] += 10.0
    np.testing.assert_array_equal(model.log_prob(x).numpy(), before)


def test_gaussian_nll_gradients_equal_torch():
    model = random_gaussian(3, seed=3)
    x = np.random.default_rng(4).normal(size=(6, 3))
    (-model.log_prob(mg.tensor(x)).mean()).backward()

    mu = torch.tensor(model.mu.numpy(), requires_grad=True)
    lower = torch.tensor(model.lower.numpy(), requires_grad=True)
    log_diag = torch.tensor(model.log_diag.numpy(), requires_grad=True)
    p = torch.tril(lower, -1) + torch.diag(log_diag.exp())
    dist = torch.distributions.MultivariateNormal(mu, precision_matrix=p @ p.T)
    (-dist.log_prob(torch.tensor(x)).mean()).backward()
    for ours, theirs in [(model.mu, mu), (model.lower, lower), (model.log_diag, log_diag)]:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_gaussian_samples_have_the_model_mean_and_covariance():
    model = random_gaussian(3, seed=5)
    mg.manual_seed(0)
    x = model.sample(40_000)
    assert x.shape == (40_000, 3)
    cov = model.covariance()
    scale = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(x.mean(axis=0), model.mu.numpy(), atol=4 * scale.max() / 200)
    np.testing.assert_allclose(np.cov(x, rowvar=False), cov, atol=0.05 * np.abs(cov).max())


def test_gaussian_sampling_is_reproducible_from_the_seed_and_keeps_image_shape():
    model = models.create("gaussian", "digits")
    mg.manual_seed(7)
    a = model.sample(5)
    mg.manual_seed(7)
    b = model.sample(5)
    assert a.shape == (5, 1, 8, 8) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_gaussian_sample_rejects_labels():
    with pytest.raises(ValueError, match="unconditional"):
        models.create("gaussian", "ring8").sample(3, y=mg.tensor(np.zeros(3, np.int64)))


def test_gaussian_log_prob_rejects_a_batch_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(4, 3\)"):
        models.create("gaussian", "ring8").log_prob(mg.zeros(4, 3))


def test_training_reaches_the_closed_form_maximum_likelihood_fit():
    train = data.load("ring8")
    mg.manual_seed(0)
    model = models.create("gaussian", train)
    x = mg.tensor(train.x)
    with mg.no_grad():
        start = -model.log_prob(x).mean().item()
    trainer = Trainer(model, train, batch_size=256, lr=0.05, seed=0)
    trainer.fit(300, progress=False)
    with mg.no_grad():
        end = -model.log_prob(x).mean().item()
    # The MLE is the sample mean and (biased) sample covariance; its NLL is the floor.
    x64 = train.x.astype(np.float64)
    floor = -scipy.stats.multivariate_normal(x64.mean(0), np.cov(x64, rowvar=False, bias=True)
                                             ).logpdf(x64).mean()
    assert end < start - 0.1
    assert floor <= end + 1e-4 and end - floor < 0.02


def test_dequantized_training_on_digits_lowers_the_nll():
    train = data.load("digits")
    mg.manual_seed(0)
    model = models.create("gaussian", train)
    assert model.levels == 17 and model.continuous
    trainer = Trainer(model, train, batch_size=128, lr=0.01, seed=0)
    trainer.fit(40, progress=False)
    values = trainer.history["loss"]["value"]
    assert all(math.isfinite(v) for v in values)
    assert np.mean(values[-5:]) < np.mean(values[:5]) - 10.0


def test_dequantize_option_false_trains_on_the_raw_levels():
    assert models.create("gaussian", "digits", dequantize=False).levels is None
    x = mg.tensor(data.load("digits").x[:4])
    model = models.create("gaussian", "digits", dequantize=False)
    np.testing.assert_array_equal(model.dequantize(x).numpy(), x.numpy())
