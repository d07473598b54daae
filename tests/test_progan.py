"""ProGAN (lecture §5.3): the growth schedule, fade-in of both players, pixel norm, minibatch
standard deviation, equalized learning rate, the drift term, and resuming mid-fade exactly."""
import numpy as np
import pytest

import minigen as mg
from minigen import models
from minigen.models.progan import (EqualizedConv2d, ProGAN, downsample, growth_schedule,
                                   minibatch_stddev, pixel_norm, upsample)

SMALL = {"latent_dim": 8, "channels": (8, 8, 4)}


def _model(shape=(1, 8, 8), seed=0):
    mg.manual_seed(seed)
    return ProGAN(shape, latent_dim=8, channels=(8, 8, 4)).double()


def test_schedule_stabilizes_then_fades_each_new_stage_in_linearly():
    steps = 50                                  # 5 phases of 10 steps
    assert growth_schedule(0, steps, 3) == (0, 1.0)
    assert growth_schedule(9, steps, 3) == (0, 1.0)
    assert growth_schedule(10, steps, 3) == (1, 0.0)
    assert growth_schedule(15, steps, 3) == (1, 0.5)
    assert growth_schedule(20, steps, 3) == (1, 1.0)
    assert growth_schedule(29, steps, 3) == (1, 1.0)
    assert growth_schedule(30, steps, 3) == (2, 0.0)
    assert growth_schedule(50, steps, 3) == (2, 1.0)
    alphas = [growth_schedule(s, steps, 3)[1] for s in range(30, 40)]
    assert alphas == pytest.approx(np.arange(10) / 10)


@pytest.mark.parametrize("stage", [1, 2])
def test_generator_fade_in_goes_from_the_upsampled_old_output_to_the_new_block(stage):
    model = _model()
    G = model.generator
    z = mg.randn(5, 8, dtype=np.float64)
    with mg.no_grad():
        old = G(z, stage - 1, 1.0)
        at_0, at_1, at_03 = G(z, stage, 0.0), G(z, stage, 1.0), G(z, stage, 0.3)
        new = G.to_image[stage](G.blocks[stage - 1](G.features(z, stage - 1)))
    side = 2 * 2 ** stage
    assert at_0.shape == at_1.shape == (5, 1, side, side)
    np.testing.assert_array_equal(at_0.numpy(), upsample(old).numpy())
    np.testing.assert_array_equal(at_1.numpy(), new.numpy())
    assert not np.allclose(at_0.numpy(), at_1.numpy())
    np.testing.assert_allclose(at_03.numpy(), 0.7 * at_0.numpy() + 0.3 * at_1.numpy(),
                               rtol=1e-12, atol=1e-12)     # linear in alpha: continuous


@pytest.mark.parametrize("stage", [1, 2])
def test_critic_fade_in_goes_from_the_old_critic_on_downsampled_images_to_the_new_block(stage):
    model = _model()
    D = model.discriminator
    side = 2 * 2 ** stage
    x = mg.tensor(np.random.default_rng(1).uniform(-1, 1, (6, 1, side, side)))
    with mg.no_grad():
        np.testing.assert_array_equal(D(x, stage, 0.0).numpy(),
                                      D(downsample(x), stage - 1, 1.0).numpy())
        alphas = np.linspace(0, 1, 101)
        scores = np.stack([D(x, stage, float(a)).numpy() for a in alphas])
    steps = np.abs(np.diff(scores, axis=0)).max()
    assert steps < 0.05 * np.abs(scores[-1] - scores[0]).max() + 1e-9   # no jump anywhere


def test_real_images_are_faded_like_the_generator_output():
    model = _model()
    x = mg.tensor(np.random.default_rng(2).uniform(-1, 1, (3, 1, 8, 8)))
    with mg.no_grad():
        half = model.real_at(x, 1, 0.25).numpy()
        x4 = downsample(x)
        expected = 0.75 * upsample(downsample(x4)).numpy() + 0.25 * x4.numpy()
        np.testing.assert_allclose(half, expected, rtol=1e-12)
        np.testing.assert_array_equal(model.real_at(x, 2, 1.0).numpy(), x.numpy())
        np.testing.assert_array_equal(model.real_at(x, 0, 1.0).numpy(),
                                      downsample(downsample(x)).numpy())


def test_pixel_norm_gives_each_pixel_unit_mean_square_over_channels():
    a = mg.tensor(np.random.default_rng(3).normal(0, 5, (2, 6, 3, 3)))
    b = pixel_norm(a).numpy()
    np.testing.assert_allclose((b ** 2).mean(axis=1), 1.0, rtol=1e-6)


def test_minibatch_stddev_appends_the_mean_batch_standard_deviation():
    x = np.random.default_rng(4).normal(0, 2, (5, 3, 2, 2))
    out = minibatch_stddev(mg.tensor(x)).numpy()
    assert out.shape == (5, 4, 2, 2)
    np.testing.assert_array_equal(out[:, :3], x)
    np.testing.assert_allclose(out[:, 3], x.std(axis=0).mean(), rtol=1e-6)
    same = minibatch_stddev(mg.tensor(np.repeat(x[:1], 5, axis=0))).numpy()
    assert np.abs(same[:, 3]).max() < 1e-3          # a collapsed batch is visible
    with pytest.raises(ValueError, match="at least 2 examples"):
        minibatch_stddev(mg.tensor(x[:1]))


def test_equalized_conv_stores_unit_normal_weights_and_scales_them_at_use():
    mg.manual_seed(0)
    conv = EqualizedConv2d(16, 32, 3, padding=1)
    assert abs(float(conv.weight.numpy().std()) - 1.0) < 0.05
    assert conv.scale == pytest.approx(np.sqrt(2.0 / (16 * 9)))
    x = mg.randn(2, 16, 5, 5)
    np.testing.assert_allclose(conv(x).numpy(), mg.nn.functional.conv2d(
        x, conv.weight * conv.scale, conv.bias, padding=1).numpy(), rtol=1e-6)


def test_critic_loss_is_wgan_gp_plus_the_drift_term():
    model = _model()
    model.gp_weight = 0.0
    x = mg.tensor(np.random.default_rng(5).uniform(-1, 1, (4, 1, 8, 8)))
    fake = mg.tensor(np.random.default_rng(6).uniform(-1, 1, (4, 1, 8, 8)))
    loss, _ = model.critic_loss(x, fake, 2, 1.0)
    real_scores = model.discriminator(x, 2).numpy()
    fake_scores = model.discriminator(fake, 2).numpy()
    expected = fake_scores.mean() - real_scores.mean() + 0.001 * (real_scores ** 2).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_progan_declares_sampling_and_two_players_and_samples_every_stage():
    model = models.create("progan", "digits", **SMALL)
    models.check_declared(model)
    with mg.no_grad():
        for stage in range(3):
            x = model.sample(4, stage=stage)
            assert x.shape == (4, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    with pytest.raises(ValueError, match="stage must be an integer in 0..2"):
        model.generator(mg.randn(2, 8), 3)
    with pytest.raises(ValueError, match="multiple of 8"):
        ProGAN((1, 28, 28), channels=(8, 8, 8, 8))


def test_resuming_mid_fade_continues_bit_exactly(tmp_path):
    from minigen.train import load_checkpoint, train
    common = dict(data="digits", steps=10, batch_size=8, lr=1e-3, options=SMALL, progress=False)
    train("progan", out=str(tmp_path / "whole"), **common)
    # 5 phases of 2 steps: steps 2 and 3 fade stage 1 in; stop after step 3 (alpha 0.5)
    train("progan", out=str(tmp_path / "part"), on_step=lambda step, losses: step == 4, **common)
    stopped = load_checkpoint(str(tmp_path / "part" / "checkpoint.npz"))
    assert int(stopped["step"]) == 4
    assert int(stopped["model"]["stage"].numpy()) == 1
    assert float(stopped["model"]["alpha"].numpy()) == 0.5
    train("progan", out=str(tmp_path / "part"), resume=True, progress=False)
    whole = load_checkpoint(str(tmp_path / "whole" / "checkpoint.npz"))["model"]
    resumed = load_checkpoint(str(tmp_path / "part" / "checkpoint.npz"))["model"]
    assert whole.keys() == resumed.keys()
    for key in whole:
        np.testing.assert_array_equal(whole[key].numpy(), resumed[key].numpy(), err_msg=key)
    assert int(resumed["stage"].numpy()) == 2 and float(resumed["alpha"].numpy()) == 1.0
    assert np.abs(resumed["stage_samples_1"].numpy()).sum() > 0    # each stage left samples
