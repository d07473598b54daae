"""WGAN and WGAN-GP (lecture §5.2): clipping after every critic step, n_critic, the optimizers,
the penalty inside the critic's step, no batch norm in a penalized critic, conditional WGAN-GP."""
import numpy as np
import pytest

import minigen as mg
from minigen import data, models, nn, optim
from minigen.models import adversarial as adv


def _batch(dataset, n=32):
    return mg.tensor(dataset.x[:n]), mg.tensor(dataset.y[:n])


@pytest.mark.parametrize("dataset", ["ring8", "digits"])
def test_after_a_wgan_critic_step_every_critic_weight_lies_in_minus_c_to_c(dataset):
    mg.manual_seed(0)
    train = data.load(dataset)
    model = models.create("wgan", train, clip=0.02, channels=8, hidden=16)
    for p in model.discriminator.parameters():      # far outside the box before the step
        p.data[...] = p.data * 50 + 0.1
    opts = model.configure_optimizers(5e-5)
    x, _ = _batch(train)
    model.training_step((x,), opts, 0)
    weights = np.concatenate([p.numpy().ravel() for p in model.discriminator.parameters()])
    assert np.all(np.abs(weights) <= 0.02) and np.any(np.abs(weights) == 0.02)


def test_wgan_uses_rmsprop_and_wgan_gp_adam_with_the_papers_betas():
    wgan, wgan_gp = models.create("wgan", "ring8"), models.create("wgan-gp", "ring8")
    assert all(isinstance(o, optim.RMSprop) for o in wgan.configure_optimizers(5e-5).values())
    adams = wgan_gp.configure_optimizers(1e-4).values()
    assert all(isinstance(o, optim.Adam) and o.param_groups[0]["betas"] == (0.5, 0.9)
               for o in adams)
    assert wgan.d_steps == models.create("wgan-gp", "digits").d_steps == 5   # the paper's
    assert wgan_gp.d_steps == 2        # on the 2-D toys (wgan.py, TOY_N_CRITIC)


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
def test_the_generator_steps_once_every_n_critic_steps(name):
    mg.manual_seed(0)
    train = data.load("ring8")
    model = models.create(name, train, hidden=16, n_critic=5)
    opts = model.configure_optimizers(1e-3)
    logged = [("g_loss" in model.training_step(_batch(train), opts, step)) for step in range(10)]
    assert logged == [False] * 4 + [True] + [False] * 4 + [True]


def test_wgan_gp_critic_step_descends_the_critic_loss_plus_the_penalty():
    """The gradient of one critic step is that of E f(G(z)) - E f(x) + GP, GP by double backprop:
    compare with the gradient of the same loss computed by hand with the same random numbers."""
    mg.manual_seed(0)
    train = data.load("digits")
    model = models.create("wgan-gp", train, channels=4).double()
    x = mg.tensor(train.x[:8].astype(np.float64))
    fake = mg.tensor(np.random.default_rng(0).uniform(-1, 1, (8, 1, 8, 8)))
    mg.manual_seed(5)
    loss, logs = model.d_objective(x, fake)
    assert logs["gradient_penalty"] > 0
    critic = model.discriminator
    mg.manual_seed(5)
    expected = (adv.critic_loss(critic(x), critic(fake))
                + adv.gradient_penalty(critic, x, fake, weight=10.0))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    w = critic.features[0].weight
    (g_model,) = mg.autograd.grad(loss, [w])
    (g_hand,) = mg.autograd.grad(expected, [w])
    np.testing.assert_allclose(g_model.numpy(), g_hand.numpy(), rtol=1e-10)


def test_wgan_gp_refuses_batch_norm_in_the_critic_with_a_reason():
    with pytest.raises(ValueError, match="batch norm makes each critic value depend on the whole"):
        models.create("wgan-gp", "digits", d_norm="batch")
    critic = models.create("wgan-gp", "digits", d_norm="layer").discriminator
    kinds = {type(m).__name__ for m in critic.modules()}
    assert "LayerNorm" in kinds and not kinds & {"BatchNorm1d", "BatchNorm2d"}


@pytest.mark.parametrize("name, options, message", [
    ("wgan", {"clip": 0.0}, "clip must be > 0"),
    ("wgan", {"n_critic": 0}, "'n_critic' of model 'wgan' must be in 1..100"),
    ("wgan-gp", {"gp_weight": -1.0}, "'gp_weight' of model 'wgan-gp' must be in 0..10000"),
    ("wgan-gp", {"betas": (1.5, 0.9)}, r"betas must be two numbers in \[0, 1\)"),
    ("wgan-gp", {"conditional": True, "latent_dim": 0}, "'latent_dim' .* must be in 1..4096"),
])
def test_wgan_options_are_checked_with_a_sentence(name, options, message):
    with pytest.raises(ValueError, match=message):
        models.create(name, "ring8", **options)


def test_conditional_wgan_gp_penalizes_the_critic_with_the_batch_labels():
    mg.manual_seed(0)
    train = data.load("digits")
    model = models.create("wgan-gp", train, conditional=True, channels=4)
    assert model.conditional and model.num_classes == 10
    x, y = _batch(train, 16)
    opts = model.configure_optimizers(1e-4)
    logs = model.training_step((x, y), opts, 4)
    assert {"wasserstein", "gradient_penalty", "g_loss"} <= set(logs)
    model.eval()
    labels = mg.tensor(np.arange(10, dtype=np.int64))
    assert model.sample(10, y=labels).shape == (10, 1, 8, 8)


def test_critic_of_a_wgan_has_no_sigmoid_its_scores_are_unbounded():
    mg.manual_seed(0)
    model = models.create("wgan-gp", "ring8")
    with mg.no_grad():
        scores = model.discriminator(mg.tensor(np.full((4, 2), 1e3, np.float32))).numpy()
    assert np.all(np.abs(scores) > 1.0)
    assert not any(isinstance(m, nn.Sigmoid) for m in model.discriminator.modules())


def test_wgan_gp_penalty_weight_is_ten_on_images_and_the_papers_toy_value_on_points():
    assert models.create("wgan-gp", "digits", channels=4).gp_weight == 10.0
    assert models.create("wgan-gp", "ring8").gp_weight == 0.1
    assert models.create("wgan-gp", "ring8", gp_weight=10.0).gp_weight == 10.0
