"""nn.functional (activations, linear, normalizations, dropout, embedding) as specifications:
each function agrees with torch.nn.functional in value, gradient and second-order gradient
(float64 to 1e-7, float32 to 1e-4), and passes minigen's own finite-difference gradcheck and
gradgradcheck."""
import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigen as mg
import minigen.nn.functional as F
from minigen.ops import activation as primitives
from minigen.testing import gradcheck, gradgradcheck
from nn_oracle import check_function


def away_from(shape, kinks=(0.0,), seed=0, scale=2.0, gap=0.05):
    """Random values at least ``gap`` away from every kink (finite differences straddling a
    kink would measure the average of two slopes)."""
    x = np.random.default_rng(seed).uniform(-scale, scale, shape)
    for k in kinks:
        close = np.abs(x - k) < gap
        x[close] = k + np.where(x[close] >= k, gap, -gap) * 2
    return x


# name: (minigen function, torch function, kinks of the function)
ACTIVATIONS = {
    "relu": (F.relu, TF.relu, (0.0,)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), (0.0,)),
    "elu": (lambda x: F.elu(x, 1.3), lambda x: TF.elu(x, 1.3), (0.0,)),
    "silu": (F.silu, TF.silu, ()),
    "gelu": (F.gelu, TF.gelu, ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh"), ()),
    "sigmoid": (F.sigmoid, torch.sigmoid, ()),
    "tanh": (F.tanh, torch.tanh, ()),
    "softplus": (F.softplus, TF.softplus, ()),
    "softplus_beta_threshold": (lambda x: F.softplus(x, beta=2.0, threshold=3.0),
                                lambda x: TF.softplus(x, beta=2.0, threshold=3.0), (1.5,)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, ()),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda x: TF.softmax(x, dim=1), ()),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), lambda x: TF.log_softmax(x, dim=-1), ()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_matches_torch_to_second_order(name, dtype):
    mg_fn, th_fn, kinks = ACTIVATIONS[name]
    x = away_from((4, 5), kinks, scale=4.0)
    check_function(mg_fn, th_fn, [x], dtype)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_passes_gradcheck_and_gradgradcheck(name):
    mg_fn, _, kinks = ACTIVATIONS[name]
    x = mg.tensor(away_from((3, 4), kinks, seed=1, scale=4.0), requires_grad=True)
    assert gradcheck(mg_fn, [x])
    assert gradgradcheck(mg_fn, [x])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_erf_softplus_silu_primitives_match_torch_to_second_order(dtype):
    x = np.random.default_rng(3).uniform(-3, 3, (4, 5))
    check_function(primitives.erf, torch.erf, [x], dtype)
    check_function(primitives.softplus, TF.softplus, [x * 10], dtype)
    t = mg.tensor(x, requires_grad=True)
    check_function(primitives.silu, TF.silu, [x * 10], dtype)
    # integer input is cast to the default float dtype first, as for sigmoid
    assert F.silu(mg.tensor(np.array([1, 2, 3]))).dtype == np.float32
    for fn in (primitives.erf, primitives.softplus, primitives.silu):
        assert gradcheck(fn, [t]) and gradgradcheck(fn, [t])


def test_activations_are_finite_and_correct_far_out():
    x = np.array([-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0])
    for name in ("softplus", "logsigmoid", "sigmoid", "silu", "elu", "gelu", "tanh"):
        mg_fn, th_fn, _ = ACTIVATIONS[name]
        check_function(mg_fn, th_fn, [x], second_order=False)


def test_leaky_relu_and_elu_slopes_at_zero_match_torch():
    # at exactly 0 torch takes the negative side's slope for both (the second derivative of elu
    # does not exist there, and minigen and torch pick different one-sided values)
    check_function(lambda x: F.leaky_relu(x, 0.3), lambda x: TF.leaky_relu(x, 0.3),
                   [np.zeros(3)])
    check_function(lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0), [np.zeros(3)],
                   second_order=False)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(mg.zeros(2), approximate="fast")


def test_softmax_without_dim_warns_and_uses_torchs_implicit_dim():
    x = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(mg.tensor(x))
    np.testing.assert_allclose(y.numpy(), torch.softmax(torch.from_numpy(x), 1).numpy())


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_to_second_order(shape, bias):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(shape), rng.standard_normal((4, 3))]
    if bias:
        arrays.append(rng.standard_normal(4))
    check_function(F.linear, TF.linear, arrays)
    check_function(F.linear, TF.linear, arrays, np.float32, second_order=False)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(F.linear, xs) and gradgradcheck(F.linear, xs)


def test_linear_names_the_mismatched_feature_counts():
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(4, 3\)"):
        F.linear(mg.zeros(2, 5), mg.zeros(4, 3))


@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm_matches_torch_to_second_order(shape, normalized):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shape), rng.standard_normal(normalized) + 1,
              rng.standard_normal(normalized)]
    check_function(lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-3),
                   lambda x, w, b: TF.layer_norm(x, normalized, w, b, eps=1e-3), arrays)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    fn = lambda x, w, b: F.layer_norm(x, normalized, w, b)  # noqa: E731
    assert gradcheck(fn, xs) and gradgradcheck(fn, xs)


def test_group_norm_matches_torch_to_second_order():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 6, 3, 2)), rng.standard_normal(6), rng.standard_normal(6)]
    check_function(lambda x, w, b: F.group_norm(x, 3, w, b),
                   lambda x, w, b: TF.group_norm(x, 3, w, b), arrays)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    fn = lambda x, w, b: F.group_norm(x, 2, w, b)  # noqa: E731
    assert gradcheck(fn, xs) and gradgradcheck(fn, xs)


def test_group_norm_rejects_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match="5 channels.*3 groups"):
        F.group_norm(mg.zeros(2, 5, 3), 3)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_training_matches_torch_and_updates_running_stats(shape):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(3), rng.standard_normal(3)
    mg_stats = [mg.tensor(np.full(3, 0.5)), mg.tensor(np.full(3, 2.0))]
    th_stats = [torch.full((3,), 0.5, dtype=torch.float64), torch.full((3,), 2.0,
                                                                      dtype=torch.float64)]
    check_function(lambda x, w, b: F.batch_norm(x, *mg_stats, w, b, True, 0.3),
                   lambda x, w, b: TF.batch_norm(x, *th_stats, w, b, True, 0.3), [x, w, b])
    # check_function ran forward once per side: the running stats moved identically
    np.testing.assert_allclose(mg_stats[0].numpy(), th_stats[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(mg_stats[1].numpy(), th_stats[1].numpy(), rtol=1e-12)


def test_batch_norm_evaluation_uses_running_stats_and_matches_torch():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((4, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    check_function(lambda x, w, b: F.batch_norm(x, mg.tensor(mean), mg.tensor(var), w, b),
                   lambda x, w, b: TF.batch_norm(x, torch.from_numpy(mean),
                                                 torch.from_numpy(var), w, b), [x, w, b])


def test_batch_norm_passes_gradcheck_and_gradgradcheck_in_training():
    rng = np.random.default_rng(7)
    xs = [mg.tensor(a, requires_grad=True) for a in
          (rng.standard_normal((4, 2, 3)), rng.standard_normal(2), rng.standard_normal(2))]
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert gradcheck(fn, xs) and gradgradcheck(fn, xs)


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(mg.zeros(1, 3), None, None, training=True)


def test_dropout_zeroes_a_fraction_p_and_rescales_the_rest():
    mg.manual_seed(0)
    x = mg.tensor(np.random.default_rng(0).uniform(1, 2, (200, 100)), requires_grad=True)
    y = F.dropout(x, p=0.3, training=True)
    kept = y.numpy() != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.7, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-12)


def test_dropout_is_identity_when_not_training_and_reproducible_with_a_seed():
    x = mg.randn(10, 10)
    assert F.dropout(x, 0.5, training=False) is x
    mg.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


def test_embedding_matches_torch_and_padding_row_gets_no_gradient():
    rng = np.random.default_rng(8)
    weight = rng.standard_normal((6, 3))
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    check_function(lambda i, w: F.embedding(i, w), lambda i, w: TF.embedding(i, w), [idx, weight])
    check_function(lambda i, w: F.embedding(i, w, padding_idx=2),
                   lambda i, w: TF.embedding(i, w, padding_idx=2), [idx, weight],
                   second_order=False)
    with pytest.raises(IndexError, match=r"\[0, 6\)"):
        F.embedding(mg.tensor(np.array([6])), mg.tensor(weight))


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(mg.tensor(idx), 5).numpy(),
                                  TF.one_hot(torch.from_numpy(idx), 5).numpy())


def test_the_documented_names_are_all_there():
    functional = ("linear conv2d conv_transpose2d avg_pool2d max_pool2d interpolate pad relu "
                  "leaky_relu elu silu gelu sigmoid tanh softplus softmax log_softmax dropout "
                  "embedding batch_norm layer_norm group_norm mse_loss l1_loss "
                  "binary_cross_entropy binary_cross_entropy_with_logits cross_entropy nll_loss "
                  "gaussian_kl").split()
    layers = ("Module Parameter Sequential ModuleList ModuleDict Identity Flatten Linear Conv2d "
              "ConvTranspose2d MaskedConv2d Embedding LSTM LSTMCell BatchNorm1d BatchNorm2d "
              "LayerNorm GroupNorm Dropout Upsample ReLU LeakyReLU ELU SiLU GELU Sigmoid Tanh "
              "Softplus").split()
    assert [n for n in functional if not callable(getattr(F, n, None))] == []
    assert [n for n in layers if not callable(getattr(mg.nn, n, None))] == []
    assert mg.save is mg.serialization.save and mg.load is mg.serialization.load


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_torch(mode):
    x = np.random.default_rng(9).standard_normal((2, 3, 4, 5))
    check_function(lambda x: F.pad(x, (1, 2, 2, 1), mode=mode),
                   lambda x: TF.pad(x, (1, 2, 2, 1), mode=mode), [x])
    check_function(lambda x: F.pad(x, (1, 0), value=2.5), lambda x: TF.pad(x, (1, 0), value=2.5),
                   [x], second_order=False)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits", "nll_loss",
                                  "cross_entropy", "batch_norm", "layer_norm", "group_norm",
                                  "embedding", "dropout", "leaky_relu", "elu", "pad"])
def test_signatures_line_up_with_torch_for_positional_calls(name):
    # (torch's C functions have no inspectable signature, and its softmax has a private
    # positional _stacklevel before dtype, so those are left out)
    mine = list(inspect.signature(getattr(F, name)).parameters)
    theirs = list(inspect.signature(getattr(TF, name)).parameters)
    assert mine == theirs[:len(mine)], f"{name}: {mine} vs torch {theirs}"
