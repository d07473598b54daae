"""The shared part of the autoregressive image models: the pixel heads' likelihoods and draws,
and the helpers that pick tested defaults and check options."""
import numpy as np
import pytest

import minigen as mg
from minigen import data
from minigen.models.autoregressive import PixelHead, check_options, size_class

rng = np.random.default_rng(0)


def test_heads_have_the_output_channels_of_their_distribution():
    assert PixelHead(1, 2).kind == "bernoulli" and PixelHead(1, 2).out_channels == 1
    assert PixelHead(3, 256).kind == "categorical" and PixelHead(3, 256).out_channels == 768
    assert PixelHead(1, 256, "dlml", num_mixtures=5).out_channels == 15
    assert PixelHead(3, 256, "dlml", num_mixtures=10).out_channels == 100


def test_bernoulli_head_log_prob_is_the_binary_cross_entropy_per_image():
    logits = rng.standard_normal((2, 1, 3, 3))
    x = data.from_levels(rng.integers(0, 2, (2, 1, 3, 3)), 2).astype(np.float64)
    lp = PixelHead(1, 2).log_prob(mg.tensor(logits), mg.tensor(x)).numpy()
    bit = (x + 1) / 2
    expected = (bit * logits - np.logaddexp(0, logits)).sum((1, 2, 3))
    np.testing.assert_allclose(lp, expected, rtol=1e-12)


def test_categorical_head_reads_one_block_of_logits_per_channel():
    levels = 5
    logits = rng.standard_normal((2, 3 * levels, 2, 2))
    k = rng.integers(0, levels, (2, 3, 2, 2))
    lp = PixelHead(3, levels).log_prob_pixels(mg.tensor(logits),
                                              mg.tensor(data.from_levels(k, levels)))
    blocks = logits.reshape(2, 3, levels, 2, 2)
    log_softmax = blocks - np.log(np.exp(blocks).sum(2, keepdims=True))
    expected = np.take_along_axis(log_softmax, k[:, :, None], 2)[:, :, 0].sum(1)
    np.testing.assert_allclose(lp.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("kind, channels, levels", [("bernoulli", 1, 2), ("categorical", 3, 7),
                                                    ("dlml", 3, 256), ("dlml", 1, 17)])
def test_a_draw_is_a_valid_level_with_the_log_prob_the_head_gives_it(kind, channels, levels):
    head = PixelHead(channels, levels, kind, num_mixtures=3)
    out = mg.tensor(rng.standard_normal((4, head.out_channels, 1, 1)))
    mg.manual_seed(0)
    value, lp = head.draw(out, channel=channels - 1)
    assert value.shape == (4, 1 if head.per_channel else channels, 1, 1)
    np.testing.assert_allclose(data.from_levels(data.to_levels(value, levels), levels), value,
                               atol=1e-6)
    full = np.zeros((4, channels, 1, 1))
    if head.per_channel:
        full[:, channels - 1:] = value
        expected = head.distribution(out).log_prob(head.value(full))[:, channels - 1]
    else:
        expected = head.log_prob_pixels(out, mg.tensor(value))
    np.testing.assert_allclose(lp, expected.numpy().reshape(-1), rtol=1e-12)


def test_heads_refuse_what_they_cannot_model():
    with pytest.raises(ValueError, match="2 levels"):
        PixelHead(1, 17, "bernoulli")
    with pytest.raises(ValueError, match="unknown pixel head"):
        PixelHead(1, 17, "gaussian")
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        PixelHead(2, 2).log_prob(mg.zeros(1, 3, 2, 2), mg.zeros(1, 2, 2, 2))


def test_defaults_are_chosen_by_image_size_and_options_are_checked():
    assert size_class("digits-binary") == "digits" and size_class("mnist5k") == "mnist5k"
    ds = data.load("digits", "test")
    with pytest.raises(ValueError, match="blocks of m must be at least 0"):
        check_options("m", ds, blocks=-1)
    with pytest.raises(ValueError, match="divisible by 6"):
        check_options("m", ds, channels=8, channel_multiple=6)
    with pytest.raises(ValueError, match="must be an integer"):
        check_options("m", ds, channels=2.5)
