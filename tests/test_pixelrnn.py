"""The PixelRNN models (pixelrnn-row, pixelrnn-diag) end to end: causal in raster order by the
Jacobian, the Diagonal BiLSTM without a blind spot, exact likelihood, sampling, short runs."""
import numpy as np
import pytest

import minigen as mg
from minigen import data as datasets, models
from minigen.models.autoregressive import receptive_field

PIXELS = [(0, 0), (0, 5), (2, 3), (4, 0), (5, 7), (7, 7)]


def _strictly_before(r, c, h=8, w=8):
    past = np.zeros((h, w), bool)
    past[:r] = True
    past[r, :c] = True
    return past


def tiny(name, data="digits-binary", **options):
    mg.manual_seed(0)
    options = {"channels": 8, "hidden": 4, "layers": 1, **options}
    return models.create(name, data, **options).double()


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits-binary", "train").x[:3].astype(np.float64)


@pytest.mark.parametrize("name", ["pixelrnn-row", "pixelrnn-diag"])
@pytest.mark.parametrize("at", PIXELS)
def test_output_at_a_pixel_depends_only_on_earlier_pixels(name, at, digits):
    seen = receptive_field(tiny(name), digits, *at)[0] > 0
    assert not (seen & ~_strictly_before(*at)).any(), f"{name} at {at} sees {np.argwhere(seen)}"


@pytest.mark.parametrize("at", PIXELS)
def test_diagonal_bilstm_model_sees_every_earlier_pixel_no_blind_spot(at, digits):
    seen = receptive_field(tiny("pixelrnn-diag"), digits, *at)[0] > 0
    np.testing.assert_array_equal(seen, _strictly_before(*at))


def test_row_lstm_model_misses_the_far_upper_right_that_the_diagonal_model_sees(digits):
    """The Row LSTM's context is a triangle: at (2, 0) with one layer, the end of the row above
    is out of it (the 7x7 mask-A layer reaches 3 columns right, each row of state 1 more)."""
    row = receptive_field(tiny("pixelrnn-row"), digits, 2, 0)[0] > 0
    diag = receptive_field(tiny("pixelrnn-diag"), digits, 2, 0)[0] > 0
    assert not row[1, 4:].any() and diag[1, 4:].all()


@pytest.mark.parametrize("name", ["pixelrnn-row", "pixelrnn-diag"])
def test_log_prob_of_a_sample_is_the_sum_of_its_sampling_conditionals(name):
    model = tiny(name)
    model.eval()
    mg.manual_seed(2)
    x, steps = model.sample_with_log_probs(3)
    assert x.shape == (3, 1, 8, 8) and set(np.unique(x)) <= {-1.0, 1.0}
    with mg.no_grad():
        np.testing.assert_allclose(model.log_prob(mg.tensor(x)).numpy(), steps.sum(1),
                                   rtol=1e-8)


@pytest.mark.parametrize("name, data", [("pixelrnn-row", "digits-binary"),
                                        ("pixelrnn-diag", "digits-binary"),
                                        ("pixelrnn-diag", "digits")])
def test_a_short_run_lowers_the_test_nll(name, data):
    train, test = datasets.load(data, "train"), datasets.load(data, "test")
    mg.manual_seed(0)
    model = models.create(name, data, channels=16, hidden=8, layers=1)
    x_test = mg.tensor(test.x[:100])
    with mg.no_grad():
        before = -model.log_prob(x_test).numpy().mean()
    optimizer = mg.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(40):
        loss = model.loss(mg.tensor(train.x[rng.integers(0, len(train.x), 32)]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with mg.no_grad():
        after = -model.log_prob(x_test).numpy().mean()
    assert after < before - 5.0, (before, after)


@pytest.mark.parametrize("options, match", [({"hidden": 0}, "hidden"), ({"layers": 1.5}, "layers"),
                                            ({"channels": -2}, "channels")])
def test_bad_options_are_refused_with_a_sentence(options, match):
    with pytest.raises(ValueError, match=match):
        models.create("pixelrnn-row", "digits-binary", **options)


@pytest.mark.parametrize("name", ["pixelrnn-row", "pixelrnn-diag"])
def test_registered_pixelrnns_declare_what_they_implement(name):
    model = models.create(name, "digits-binary")
    models.check_declared(model)
    assert isinstance(model, models.LikelihoodModel) and isinstance(model, models.SamplingModel)
