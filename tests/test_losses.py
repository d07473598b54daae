"""Losses as specifications: each agrees with torch.nn.functional in value, gradient and
second-order gradient for every reduction, passes gradcheck/gradgradcheck, and stays finite where
a naive formula overflows."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minigen as mg
import minigen.nn as nn
import minigen.nn.functional as F
from minigen.testing import gradcheck, gradgradcheck
from nn_oracle import check_function

REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses_match_torch(name, reduction):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_function(lambda a, b: getattr(F, name)(a, b, reduction=reduction),
                   lambda a, b: getattr(TF, name)(a, b, reduction=reduction), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(reduction, weighted):
    p, y, w = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0, 2, 3)
    kw = lambda t: {"weight": t} if weighted else {}  # noqa: E731
    check_function(lambda p, y, w: F.binary_cross_entropy(p, y, reduction=reduction, **kw(w)),
                   lambda p, y, w: TF.binary_cross_entropy(p, y, reduction=reduction, **kw(w)),
                   [p, y, w], differentiable=[0, 1])


def test_binary_cross_entropy_is_finite_at_probabilities_zero_and_one():
    p = mg.tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = mg.tensor(np.array([1.0, 0.0, 0.0, 1.0]))
    loss = F.binary_cross_entropy(p, y, reduction="none")
    # torch clamps each log at -100
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_binary_cross_entropy_rejects_values_outside_zero_one_and_shape_mismatch():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(mg.tensor([1.5]), mg.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(mg.tensor([0.5, 0.5]), mg.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight"])
def test_binary_cross_entropy_with_logits_matches_torch(reduction, options):
    x, y = rng.standard_normal((4, 3)) * 3, rng.uniform(0, 1, (4, 3))
    extra = rng.uniform(0.5, 2, 3)
    kw = lambda t: {} if options == "plain" else {options: t}  # noqa: E731
    check_function(
        lambda x, y, e: F.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw(e)),
        lambda x, y, e: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw(e)),
        [x, y, extra], differentiable=[0, 1])
    xs = [mg.tensor(x, requires_grad=True), mg.tensor(y, requires_grad=True), mg.tensor(extra)]
    fn = lambda x, y, e: F.binary_cross_entropy_with_logits(x, y, reduction=reduction,  # noqa
                                                            **kw(e))
    assert gradcheck(fn, xs) and gradgradcheck(fn, xs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_with_logits_is_finite_and_exact_at_plus_minus_100(dtype):
    x = np.array([100.0, -100.0, 100.0, -100.0, 0.0])
    y = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    check_function(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
                   lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction="none"),
                   [x, y], dtype)
    loss = F.binary_cross_entropy_with_logits(mg.tensor(x.astype(dtype)),
                                              mg.tensor(y.astype(dtype)), reduction="none")
    np.testing.assert_allclose(loss.numpy()[[1, 2]], [100.0, 100.0])


def class_scores(shape, seed=1):
    r = np.random.default_rng(seed)
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    return r.standard_normal(shape) * 2, r.integers(0, n_classes, target_shape)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3, 3), (4,)], ids=["NC", "NCHW", "C"])
def test_cross_entropy_matches_torch_per_example_and_per_pixel(shape, reduction):
    x, t = class_scores(shape)
    check_function(lambda x, t: F.cross_entropy(x, t, reduction=reduction),
                   lambda x, t: TF.cross_entropy(x, t, reduction=reduction), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_weight_ignore_index_and_label_smoothing_matches_torch(reduction):
    x, t = class_scores((6, 4, 2))
    t[0, 1] = t[3, 0] = -1
    w = np.array([0.5, 1.0, 2.0, 1.5])
    for smoothing in (0.0, 0.2):
        check_function(
            lambda x, t: F.cross_entropy(x, t, weight=mg.tensor(w), ignore_index=-1,
                                         reduction=reduction, label_smoothing=smoothing),
            lambda x, t: TF.cross_entropy(x, t, weight=torch.from_numpy(w), ignore_index=-1,
                                          reduction=reduction, label_smoothing=smoothing),
            [x, t])
        check_function(
            lambda x, t: F.cross_entropy(x, t, ignore_index=-1, reduction=reduction,
                                         label_smoothing=smoothing),
            lambda x, t: TF.cross_entropy(x, t, ignore_index=-1, reduction=reduction,
                                          label_smoothing=smoothing), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_probability_targets_matches_torch(reduction):
    x = rng.standard_normal((3, 4, 2))
    p = rng.dirichlet(np.ones(4), (3, 2)).transpose(0, 2, 1)
    for smoothing in (0.0, 0.1):
        check_function(lambda x, p: F.cross_entropy(x, p, reduction=reduction,
                                                    label_smoothing=smoothing),
                       lambda x, p: TF.cross_entropy(x, p, reduction=reduction,
                                                     label_smoothing=smoothing), [x, p])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    x, t = class_scores((5, 3, 2))
    t[1, 0] = 7
    w = np.array([1.0, 0.2, 3.0])
    check_function(lambda x, t: F.nll_loss(x, t, weight=mg.tensor(w), ignore_index=7,
                                           reduction=reduction),
                   lambda x, t: TF.nll_loss(x, t, weight=torch.from_numpy(w), ignore_index=7,
                                            reduction=reduction), [x, t])


def test_cross_entropy_passes_gradcheck_and_gradgradcheck():
    x, t = class_scores((3, 4, 2))
    xs = [mg.tensor(x, requires_grad=True), mg.tensor(t)]
    fn = lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1)  # noqa: E731
    assert gradcheck(fn, xs) and gradgradcheck(fn, xs)


def test_cross_entropy_float32_matches_torch():
    x, t = class_scores((8, 10))
    check_function(F.cross_entropy, TF.cross_entropy, [x, t], np.float32, second_order=False)


def test_class_losses_name_bad_targets():
    x = mg.zeros(4, 3)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(x, mg.tensor(np.array([0, 1, 2, 3])))
    with pytest.raises(ValueError, match=r"targets of shape \(4,\)"):
        F.nll_loss(x, mg.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")


def test_gaussian_kl_is_the_closed_form_kl_to_the_standard_normal_per_example():
    mu, logvar = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    kl = F.gaussian_kl(mg.tensor(mu), mg.tensor(logvar))
    q = torch.distributions.Normal(torch.from_numpy(mu), torch.from_numpy(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(4, 3, 2, dtype=torch.float64), 1.0)
    expected = torch.distributions.kl_divergence(q, p).sum((1, 2))
    assert kl.shape == (4,)
    np.testing.assert_allclose(kl.numpy(), expected.numpy(), rtol=1e-10)
    xs = [mg.tensor(mu[:2], requires_grad=True), mg.tensor(logvar[:2], requires_grad=True)]
    assert gradcheck(F.gaussian_kl, xs) and gradgradcheck(F.gaussian_kl, xs)
    assert np.allclose(F.gaussian_kl(mg.zeros(2, 5), mg.zeros(2, 5)).numpy(), 0)


@pytest.mark.parametrize("name,args", [
    ("MSELoss", {}), ("L1Loss", {"reduction": "sum"}), ("BCEWithLogitsLoss", {}),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}), ("NLLLoss", {"ignore_index": 1})])
def test_loss_modules_match_their_functions(name, args):
    x = rng.standard_normal((4, 3))
    y = rng.integers(0, 3, 4) if name in ("CrossEntropyLoss", "NLLLoss") else rng.uniform(0, 1,
                                                                                        (4, 3))
    mine = getattr(nn, name)(**args)(mg.tensor(x), mg.tensor(y))
    theirs = getattr(torch.nn, name)(**args)(torch.from_numpy(x), torch.from_numpy(y))
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10)


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
       classes=st.integers(1, 5), seed=st.integers(0, 2 ** 16),
       reduction=st.sampled_from(REDUCTIONS), smoothing=st.sampled_from([0.0, 0.3]))
def test_cross_entropy_matches_torch_for_any_shape_and_ignored_targets(shape, classes, seed,
                                                                         reduction, smoothing):
    r = np.random.default_rng(seed)
    n = int(r.integers(1, 4))
    x = r.standard_normal((n, classes) + shape)
    t = r.integers(-1, classes, (n,) + shape)  # -1: ignored
    t.reshape(-1)[0] = 0  # at least one target counts
    check_function(lambda x, t: F.cross_entropy(x, t, ignore_index=-1, reduction=reduction,
                                                label_smoothing=smoothing),
                   lambda x, t: TF.cross_entropy(x, t, ignore_index=-1, reduction=reduction,
                                                 label_smoothing=smoothing), [x, t])
