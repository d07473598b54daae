"""The PixelCNN family as specifications (lecture §2.3-§2.5): causal by the Jacobian, exact
likelihood that equals the sum of the sampler's conditionals, and defaults that learn."""
import numpy as np
import pytest

import minigen as mg
from minigen import data, models
from minigen.models.autoregressive import receptive_field

FAMILY = ["pixelcnn", "gated-pixelcnn", "pixelcnn++"]
NO_BLIND_SPOT = ["gated-pixelcnn", "pixelcnn++"]
SMALL = {"pixelcnn": dict(channels=12, blocks=2), "gated-pixelcnn": dict(channels=6, layers=3),
         "pixelcnn++": dict(channels=6, blocks=1, mixtures=2)}


def small(name, dataset, **options):
    sizes = dict(SMALL[name])
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


@pytest.mark.parametrize("name, levels", [("pixelcnn", 2), ("pixelcnn", 17),
                                          ("gated-pixelcnn", 2), ("pixelcnn++", 17)])
def test_output_at_a_pixel_ignores_that_pixel_and_every_later_one(name, levels):
    ds = tiny_dataset("t", (1, 8, 8), levels)
    model = small(name, ds).double()
    x = mg.tensor(ds.x[:2].astype(np.float64))
    for row in range(8):
        for col in range(8):
            field = receptive_field(model, x, row, col)
            assert np.all(field[:, raster_later(ds.shape, row, col)] == 0), (row, col)
            if (row, col) != (0, 0):
                assert field.sum() > 0                     # while it does see the past


@pytest.mark.parametrize("name", NO_BLIND_SPOT)
def test_every_earlier_pixel_reaches_the_output_no_blind_spot(name):
    """Deep enough that the receptive field spans the 8x8 image: then all of the past is in it."""
    ds = tiny_dataset("t", (1, 8, 8), 2)
    model = small(name, ds, **{"gated-pixelcnn": dict(layers=5),
                               "pixelcnn++": dict(blocks=2)}[name]).double()
    x = mg.tensor(ds.x.astype(np.float64))
    for row, col in [(7, 7), (4, 3), (1, 0), (2, 6)]:
        earlier = ~raster_later(ds.shape, row, col)
        assert np.all(receptive_field(model, x, row, col)[0][earlier] > 0), (row, col)


def test_pixelcnn_has_the_blind_spot_up_and_right_of_a_pixel():
    ds = tiny_dataset("t", (1, 8, 8), 2)
    field = receptive_field(small("pixelcnn", ds).double(), mg.tensor(ds.x.astype(np.float64)),
                            5, 3)[0]
    assert np.all(field[2:5, :4] > 0) and field[4, 7] == 0 and field[4, 3 + 4] == 0


def test_pixelcnn_colour_outputs_see_only_earlier_channels_of_their_own_pixel():
    ds = tiny_dataset("t", (3, 4, 4), 4)
    model = small("pixelcnn", ds, channels=12).double()
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


def test_pixelcnn_pp_colour_mixture_sees_none_of_the_pixels_channels():
    """The mixture couples R, G, B itself (through the means), so no output may see any of them."""
    ds = tiny_dataset("t", (3, 4, 4), 4)
    model = small("pixelcnn++", ds).double()
    x = mg.tensor(ds.x.astype(np.float64))
    for row, col in [(0, 1), (2, 2), (3, 3)]:
        field = receptive_field(model, x, row, col)
        assert np.all(field[:, raster_later(ds.shape, row, col)] == 0)
        assert np.all(field[:, 0, 0] > 0)


SAMPLING_CASES = {
    "pixelcnn": [(2, (1, 5, 5)), (17, (1, 4, 4)), (4, (3, 3, 3)), (2, (1, 12, 4))],
    "gated-pixelcnn": [(2, (1, 5, 5)), (17, (1, 4, 4)), (2, (1, 12, 4))],
    "pixelcnn++": [(2, (1, 8, 4)), (17, (1, 4, 4)), (4, (3, 4, 4))],
}


@pytest.mark.parametrize("name, levels, shape", [(name, *case) for name in FAMILY
                                                 for case in SAMPLING_CASES[name]])
def test_log_prob_of_a_sample_is_the_sum_of_the_conditionals_that_drew_it(name, levels, shape):
    """Also on images taller than the receptive field, where the sampler crops the rows."""
    ds = tiny_dataset("t", shape, levels)
    model = small(name, ds).double()
    if shape[1] > 4:
        assert model._rows(shape[1] - 1, shape[1]) != (0, shape[1]) or model._rows(
            0, shape[1]) != (0, shape[1])                    # the sampler does crop
    model.eval()
    mg.manual_seed(0)
    with mg.no_grad():
        x, steps = model.sample_with_log_probs(3)
        per_pixel = model.head.channels if model.head.per_channel else 1
        assert x.shape == (3,) + shape and steps.shape == (3, per_pixel * shape[1] * shape[2])
        np.testing.assert_allclose(data.from_levels(data.to_levels(x, levels), levels), x,
                                   atol=1e-6)
        np.testing.assert_allclose(model.log_prob(mg.tensor(x)).numpy(), steps.sum(1),
                                   rtol=1e-10)


@pytest.mark.parametrize("name", FAMILY)
def test_samples_are_reproducible_from_the_seed(name):
    ds = tiny_dataset("t", (1, 4, 4), 2)
    model = small(name, ds)
    model.eval()
    mg.manual_seed(5)
    a = model.sample(4)
    mg.manual_seed(5)
    np.testing.assert_array_equal(a, model.sample(4))


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("dataset, steps, batch", [("digits-binary", 15, 16), ("digits", 15, 16),
                                                   ("mnist5k-binary", 3, 8), ("mnist5k", 3, 8)])
def test_a_short_run_of_the_default_configuration_lowers_the_test_nll(name, dataset, steps,
                                                                      batch):
    train, test = data.load(dataset, "train"), data.load(dataset, "test", n=32)
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
        x = train.x[rng.choice(len(train), batch, replace=False)]
        model.train()
        model.training_step((mg.tensor(x),), optimizers, step)
    assert test_nll() < before - 0.01 * abs(before)


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


# --------------------------------------------------------------------------- class-conditional
def conditional_gated(ds):
    mg.manual_seed(0)
    return models.create("gated-pixelcnn", data=ds, conditional=True, channels=6,
                         layers=3).double()


def test_conditional_gated_pixelcnn_reads_the_label_and_stays_causal():
    ds = tiny_dataset("t", (1, 6, 6), 2, num_classes=3)
    model = conditional_gated(ds)
    x = mg.tensor(ds.x[:2].astype(np.float64))
    with mg.no_grad():
        a = model(x, mg.tensor(np.array([0, 0]))).numpy()
        b = model(x, mg.tensor(np.array([1, 2]))).numpy()
    assert np.abs(a - b).max() > 1e-3
    y = mg.tensor(np.array([1, 2]))
    for row, col in [(0, 0), (2, 3), (5, 5)]:
        field = receptive_field(model, x, row, col, y=y)
        assert np.all(field[:, raster_later(ds.shape, row, col)] == 0)


def test_conditional_samples_follow_the_labels_and_their_log_probs_add_up():
    ds = tiny_dataset("t", (1, 5, 5), 2, num_classes=3)
    model = conditional_gated(ds)
    model.eval()
    y = mg.tensor(np.array([0, 1, 2]))
    mg.manual_seed(1)
    with mg.no_grad():
        x, steps = model.sample_with_log_probs(3, y)
        np.testing.assert_allclose(model.log_prob(mg.tensor(x), y).numpy(), steps.sum(1),
                                   rtol=1e-10)
        # without labels: the marginal over uniform labels, log (1/K) sum_y p(x | y)
        per_class = np.stack([model.log_prob(mg.tensor(x), mg.tensor(np.full(3, c))).numpy()
                              for c in range(3)], 1)
        marginal = np.log(np.exp(per_class).sum(1) / 3)
        np.testing.assert_allclose(model.log_prob(mg.tensor(x)).numpy(), marginal, rtol=1e-10)
    with pytest.raises(ValueError, match="needs labels|given labels"):
        model.sample(2)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        model.sample(2, y=mg.tensor(np.array([0, 3])))


def test_conditional_needs_labelled_grey_images():
    unlabelled = data.Dataset(name="u", split="train", x=np.zeros((2, 1, 4, 4), np.float32),
                              y=None, num_classes=0, levels=2)
    with pytest.raises(ValueError, match="no labels"):
        models.create("gated-pixelcnn", data=unlabelled, conditional=True)
    with pytest.raises(ValueError, match="grey images"):
        models.create("gated-pixelcnn", data=tiny_dataset("t", (3, 4, 4), 4))
    with pytest.raises(ValueError, match="divisible by 4"):
        models.create("pixelcnn++", data=tiny_dataset("t", (1, 6, 6), 4))
