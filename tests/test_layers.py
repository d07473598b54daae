"""Layers as specifications: with torch's weights loaded through load_state_dict, every layer
gives torch's output and torch's gradients for the input and every parameter (float32 to 1e-4,
float64 to 1e-7); BatchNorm's running statistics follow torch's through training and evaluation;
default initializations have torch's ranges."""
import math

import numpy as np
import pytest
import torch

import minigen as mg
import minigen.nn as nn
from nn_oracle import check_layer
from oracle import assert_close

DTYPES = [np.float64, np.float32]
rng = np.random.default_rng(0)


def same_layer(name, *args, **kwargs):
    """The layer built with the same arguments from minigen.nn and from torch.nn."""
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


# (layer name, args, kwargs, input shape)
SIMPLE_LAYERS = [
    ("Linear", (5, 3), {}, (4, 5)),
    ("Linear", (5, 3), {"bias": False}, (2, 6, 5)),
    ("LayerNorm", ((3, 4),), {}, (2, 3, 4)),
    ("LayerNorm", (4,), {"elementwise_affine": False}, (3, 4)),
    ("GroupNorm", (2, 6), {}, (3, 6, 2, 2)),
    ("BatchNorm1d", (3,), {}, (5, 3)),
    ("BatchNorm1d", (3,), {"affine": False}, (4, 3, 6)),
    ("BatchNorm2d", (3,), {"momentum": None}, (2, 3, 4, 4)),
    ("ReLU", (), {}, (3, 4)),
    ("LeakyReLU", (0.1,), {}, (3, 4)),
    ("ELU", (0.5,), {}, (3, 4)),
    ("SiLU", (), {}, (3, 4)),
    ("GELU", (), {}, (3, 4)),
    ("GELU", (), {"approximate": "tanh"}, (3, 4)),
    ("Sigmoid", (), {}, (3, 4)),
    ("Tanh", (), {}, (3, 4)),
    ("Softplus", (2.0, 3.0), {}, (3, 4)),
    ("Softmax", (1,), {}, (3, 4)),
    ("LogSoftmax", (-1,), {}, (3, 4)),
    ("Flatten", (), {}, (2, 3, 4)),
    ("Identity", (), {}, (2, 3)),
    ("Dropout", (0.4,), {}, (2, 3)),  # compared in eval mode below, where it is the identity
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs,shape", SIMPLE_LAYERS,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(SIMPLE_LAYERS)])
def test_layer_matches_torch_with_loaded_weights(name, args, kwargs, shape, dtype):
    mine, theirs = same_layer(name, *args, **kwargs)
    with torch.no_grad():  # move off the default init (ones and zeros) so it is exercised
        for p in theirs.parameters():
            p.add_(torch.randn(p.shape) * 0.5)
    if name == "Dropout":
        mine.eval(), theirs.eval()
    check_layer(mine, theirs, rng.standard_normal(shape) * 2, dtype)
    assert repr(mine) == repr(theirs)


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_running_stats_follow_torch_through_train_then_eval(name, momentum):
    mine, theirs = same_layer(name, 3, momentum=momentum)
    mine.double(), theirs.double()
    shape = (6, 3) if name == "BatchNorm1d" else (4, 3, 2, 3)
    for step in range(3):  # no reloading: each side updates its own statistics
        x = rng.standard_normal(shape) * (step + 1) + step
        assert_close(mine(mg.tensor(x)), theirs(torch.from_numpy(x)))
    for key, value in theirs.state_dict().items():
        assert_close(mine.state_dict()[key], value, what=key)
    assert mine.num_batches_tracked.item() == 3
    mine.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    assert_close(mine(mg.tensor(x)), theirs(torch.from_numpy(x)))
    assert mine.num_batches_tracked.item() == 3  # evaluation does not count batches
    check_layer(mine, theirs, x)  # and the gradients in evaluation mode


def test_batch_norm_without_running_stats_normalizes_with_batch_stats_in_eval():
    mine, theirs = same_layer("BatchNorm1d", 3, track_running_stats=False)
    mine.eval(), theirs.eval()
    assert list(mine.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    check_layer(mine, theirs, rng.standard_normal((5, 3)))


def test_batch_norm_rejects_inputs_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input"):
        nn.BatchNorm2d(3)(mg.zeros(4, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_matches_torch_and_keeps_the_padding_row_at_zero(dtype):
    mine, theirs = same_layer("Embedding", 7, 3, padding_idx=1)
    assert (mine.weight.numpy()[1] == 0).all()
    idx = np.array([[1, 2, 6], [0, 1, 1]])
    check_layer(mine, theirs, idx, dtype)
    assert repr(mine) == repr(theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_matches_torch(dtype, bias):
    mine, theirs = same_layer("LSTMCell", 4, 3, bias=bias)
    x, h, c = rng.standard_normal((2, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    check_layer(mine, theirs, [x, h, c], dtype, call=lambda cell, x, h, c: cell(x, (h, c)))
    check_layer(mine, theirs, x, dtype)  # zero initial state
    check_layer(mine, theirs, x[0], dtype)  # unbatched
    assert repr(mine) == repr(theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_layers,batch_first,bias", [(1, False, True), (2, True, True),
                                                         (3, False, False)])
def test_lstm_matches_torch_outputs_and_final_states(dtype, num_layers, batch_first, bias):
    mine, theirs = same_layer("LSTM", 3, 4, num_layers=num_layers, batch_first=batch_first,
                              bias=bias)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))  # batch 2, length 5
    h0 = rng.standard_normal((num_layers, 2, 4))
    c0 = rng.standard_normal((num_layers, 2, 4))
    check_layer(mine, theirs, x, dtype)
    check_layer(mine, theirs, [x, h0, c0], dtype, call=lambda m, x, h, c: m(x, (h, c)))
    assert repr(mine) == repr(theirs)


def test_lstm_accepts_unbatched_sequences_like_torch():
    mine, theirs = same_layer("LSTM", 3, 2, num_layers=2)
    check_layer(mine, theirs, rng.standard_normal((4, 3)))


def test_lstm_dropout_between_layers_only_in_training():
    mine = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = mg.randn(5, 2, 3)
    mine.eval()
    a, _ = mine(x)
    b, _ = mine(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    mine.train()
    mg.manual_seed(1)
    c, _ = mine(x)
    assert not np.allclose(a.numpy(), c.numpy())


def test_lstm_rejects_what_it_does_not_implement():
    with pytest.raises(ValueError, match="bidirectional=True"):
        nn.LSTM(2, 3, bidirectional=True)
    with pytest.raises(ValueError, match=r"\(L, N, 2\)"):
        nn.LSTM(2, 3)(mg.zeros(4, 2, 5))


@pytest.mark.parametrize("name,args,param,bound", [
    ("Linear", (50, 7), "weight", 1 / math.sqrt(50)),
    ("Linear", (50, 70), "bias", 1 / math.sqrt(50)),
    ("Conv2d", (4, 64, 3), "weight", 1 / math.sqrt(36)),
    ("Conv2d", (4, 64, 3), "bias", 1 / math.sqrt(36)),
    ("ConvTranspose2d", (4, 64, 3), "weight", 1 / math.sqrt(576)),
    ("ConvTranspose2d", (4, 64, 3), "bias", 1 / math.sqrt(576)),
    ("LSTM", (3, 16), "weight_hh_l0", 1 / 4),
    ("LSTMCell", (3, 16), "bias_ih", 1 / 4),
])
def test_default_initialization_is_uniform_on_torchs_range(name, args, param, bound):
    mg.manual_seed(0)
    values = getattr(getattr(nn, name)(*args), param).numpy()
    theirs = getattr(getattr(torch.nn, name)(*args), param).detach().numpy()
    assert values.shape == theirs.shape
    assert np.abs(values).max() <= bound and np.abs(theirs).max() <= bound
    assert np.abs(values).max() > 0.8 * bound  # spread over the range, not squeezed
    assert abs(values.mean()) < 0.25 * bound


def test_init_functions_have_the_documented_moments():
    w = mg.zeros(400, 300)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 300)) < 0.01 * math.sqrt(2 / 300) * 5
    nn.init.xavier_uniform_(w, gain=2.0)
    assert abs(np.abs(w.numpy()).max() - 2 * math.sqrt(6 / 700)) < 1e-3
    nn.init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy().T @ w.numpy(), np.eye(300), atol=1e-5)
    nn.init.constant_(w, 0.25)
    assert (w.numpy() == 0.25).all()
    for nonlinearity, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2),
                                ("sigmoid", None), ("selu", None)]:
        assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param))


def test_layers_take_device_and_dtype_like_torch():
    layer = nn.Linear(2, 3, dtype=mg.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert nn.BatchNorm2d(2, dtype=mg.float64).running_var.dtype == np.float64


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_with_the_wrong_channel_count_names_both(training):
    bn = mg.nn.BatchNorm2d(3).train(training)
    with pytest.raises(ValueError, match=r"\(2, 4, 5, 5\) has 4 channels but running_mean has "
                                         r"shape \(3,\)"):
        bn(mg.randn(2, 4, 5, 5))
