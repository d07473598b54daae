"""The PixelCNN family as specifications (lecture §2.3-§2.5): causal by the Jacobian, exact
likelihood that equals the sum of the sampler's conditionals, and defaults that learn."""
import numpy as np
import pytest

import minigen as mg
from minigen import data, models
from minigen.models.autoregressive import receptive_field

FAMILY = ["pixelcnn"]


def small(name, dataset, **options):
    sizes = {"pixelcnn": dict(channels=12, blocks=2)}[name]
    sizes.update(options)
    mg.manual_seed(0)
    return models.create(name, data=dataset, **sizes)


def tiny_dataset(name, shape, levels, num_classes=10, n=8):
    rng = np.random.default_rng(0)
    k = rng.integers(0, levels, (n,) + shape)
    return data.Dataset(name=name, split="train", x=data.from_levels(k, levels),
                        y=np.arange(n, dtype=np.int64) % num_classes, num_classes=num_classes,
                        levels=levels)


def raster_later(shape, row, col):
    """True at (row, col) and every pixel after it in raster order."""
    _, h, w = shape
    index = np.arange(h * w).reshape(h, w)
    return index >= row * w + col


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("levels", [2, 17])
def test_output_at_a_pixel_ignores_that_pixel_and_every_later_one(name, levels):
    ds = tiny_dataset("t", (1, 6, 6), levels)
    model = small(name, ds).double()
    x = mg.tensor(ds.x[:2].astype(np.float64))
    for row in range(6):
        for col in range(6):
            field = receptive_field(model, x, row, col)
            assert np.all(field[:, raster_later(ds.shape, row, col)] == 0), (row, col)
            if (row, col) != (0, 0):
                assert field[0, 0, 0] > 0 or row * 6 + col > 30   # it does see the first pixel


@pytest.mark.parametrize("name", FAMILY)
def test_colour_outputs_see_only_earlier_channels_of_their_own_pixel(name):
    ds = tiny_dataset("t", (3, 4, 4), 4)
    model = small(name, ds, channels=12).double()
    x = mg.tensor(ds.x.astype(np.float64))        # 8 images: some unit is active at every pixel
    per = model.head.out_channels // 3
    for row, col in [(0, 0), (1, 2), (3, 3)]:
        later = raster_later(ds.shape, row, col)
        later[row, col] = False
        for colour in range(3):
            field = receptive_field(model, x, row, col, channels=slice(colour * per,
                                                                       (colour + 1) * per))
            assert np.all(field[:, later] == 0)
            assert np.all(field[colour:, row, col] == 0)      # not itself, nor later colours
            assert np.all(field[:colour, row, col] > 0)       # but every earlier colour


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("levels, shape", [(2, (1, 5, 5)), (17, (1, 4, 4)), (4, (3, 3, 3)),
                                           (2, (1, 12, 4))])
def test_log_prob_of_a_sample_is_the_sum_of_the_conditionals_that_drew_it(name, levels, shape):
    """Also on images taller than the receptive field, where the sampler crops the rows."""
    ds = tiny_dataset("t", shape, levels)
    model = small(name, ds, channels=12).double()
    if model.receptive_rows is not None and shape[1] == 12:
        assert model.receptive_rows + 1 < 12
    model.eval()
    mg.manual_seed(0)
    with mg.no_grad():
        x, steps = model.sample_with_log_probs(3)
        assert x.shape == (3,) + shape and steps.shape == (3, int(np.prod(shape)))
        np.testing.assert_array_equal(data.from_levels(data.to_levels(x, levels), levels), x)
        np.testing.assert_allclose(model.log_prob(mg.tensor(x)).numpy(), steps.sum(1),
                                   rtol=1e-10)


@pytest.mark.parametrize("name", FAMILY)
def test_samples_are_reproducible_from_the_seed(name):
    ds = tiny_dataset("t", (1, 4, 4), 2)
    model = small(name, ds)
    mg.manual_seed(5)
    a = model.sample(4)
    mg.manual_seed(5)
    np.testing.assert_array_equal(a, model.sample(4))


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("dataset, steps", [("digits-binary", 25), ("digits", 25),
                                            ("mnist5k-binary", 4), ("mnist5k", 4)])
def test_a_short_run_of_the_default_configuration_lowers_the_test_nll(name, dataset, steps):
    train, test = data.load(dataset, "train"), data.load(dataset, "test", n=64)
    mg.manual_seed(0)
    model = models.create(name, data=train)
    models.check_declared(model)
    lr = models.train_defaults(name, dataset)["lr"]
    optimizers = model.configure_optimizers(lr)
    x_test = mg.tensor(test.x)

    def test_nll():
        model.eval()
        with mg.no_grad():
            return -model.log_prob(x_test).mean().item()
    before = test_nll()
    rng = np.random.default_rng(0)
    for step in range(steps):
        batch = train.x[rng.choice(len(train), 16, replace=False)]
        model.train()
        model.training_step((mg.tensor(batch),), optimizers, step)
    assert test_nll() < before - 0.05 * abs(before) 


@pytest.mark.parametrize("name", FAMILY)
def test_bad_options_and_inputs_are_refused_with_a_sentence(name):
    with pytest.raises(ValueError, match="dropout"):
        models.create(name, data="digits-binary", dropout=1.5)
    with pytest.raises(ValueError, match="channels"):
        models.create(name, data="digits-binary", channels=0)
    with pytest.raises(ValueError, match="discrete pixel levels"):
        models.create(name, data="ring8")
    model = small(name, "digits-binary")
    with pytest.raises(ValueError, match=r"\(1, 8, 8\)"):
        model.log_prob(mg.zeros(2, 1, 7, 8))
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, y=mg.tensor(np.array([1, 2])))
