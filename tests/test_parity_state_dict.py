"""state_dicts carry over between torch and minigen for every module with buffers: a torch
module's state_dict, converted to NumPy, loads (strict) into its minigen twin; the two then give
the same outputs in train and eval mode and keep the same buffers (BatchNorm's running_mean,
running_var and num_batches_tracked, torch's counter of training batches; with momentum=None the
running estimates are the cumulative average of the batch statistics; InstanceNorm2d's come
from the examples' statistics); and the minigen state_dict loads back (strict) into torch with
identical tensors."""
import inspect

import numpy as np
import pytest
import torch

import minigen as mg
from minigen import nn
from nn_oracle import flat_tensors, numpy_state
from oracle import assert_close, torch_from


class TorchMaskedConv2d(torch.nn.Conv2d):
    """The torch twin of nn.MaskedConv2d: a Conv2d whose kernel is multiplied by a 0/1 buffer."""

    def __init__(self, in_channels, out_channels, kernel_size, mask_type):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        mask = nn.causal_mask(out_channels, in_channels, kernel_size, mask_type)
        self.register_buffer("mask", torch.from_numpy(np.asarray(mask, dtype=np.float32)))

    def forward(self, input):
        return self._conv_forward(input, self.weight * self.mask, self.bias)


def _probabilities(shape, rng):
    return 1 / (1 + np.exp(-rng.standard_normal(shape)))


def _log_probabilities(shape, rng):
    z = rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def _weights(n, seed=5):
    return np.random.default_rng(seed).uniform(0.5, 2.0, n)


# name: (minigen module, torch module, inputs(rng) -> list of arrays)
CASES = {
    "BatchNorm1d (N, C)": (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3),
                           lambda r: [r.standard_normal((6, 3))]),
    "BatchNorm1d (N, C, L)": (lambda: nn.BatchNorm1d(3, momentum=0.3),
                              lambda: torch.nn.BatchNorm1d(3, momentum=0.3),
                              lambda r: [r.standard_normal((4, 3, 5))]),
    "BatchNorm1d momentum=None": (lambda: nn.BatchNorm1d(3, momentum=None),
                                  lambda: torch.nn.BatchNorm1d(3, momentum=None),
                                  lambda r: [2 * r.standard_normal((5, 3)) + 1]),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), lambda: torch.nn.BatchNorm2d(2),
                    lambda r: [r.standard_normal((3, 2, 4, 4))]),
    "BatchNorm2d momentum=None": (lambda: nn.BatchNorm2d(2, momentum=None),
                                  lambda: torch.nn.BatchNorm2d(2, momentum=None),
                                  lambda r: [r.standard_normal((3, 2, 3, 3)) - 2]),
    "BatchNorm2d affine=False": (lambda: nn.BatchNorm2d(2, affine=False),
                                 lambda: torch.nn.BatchNorm2d(2, affine=False),
                                 lambda r: [r.standard_normal((3, 2, 3, 3))]),
    "BatchNorm2d no running stats": (
        lambda: nn.BatchNorm2d(2, track_running_stats=False),
        lambda: torch.nn.BatchNorm2d(2, track_running_stats=False),
        lambda r: [r.standard_normal((3, 2, 3, 3))]),
    "InstanceNorm2d affine, running stats": (
        lambda: nn.InstanceNorm2d(3, momentum=0.3, affine=True, track_running_stats=True),
        lambda: torch.nn.InstanceNorm2d(3, momentum=0.3, affine=True, track_running_stats=True),
        lambda r: [2 * r.standard_normal((2, 3, 4, 5)) + 1]),
    "InstanceNorm2d affine": (lambda: nn.InstanceNorm2d(2, affine=True),
                              lambda: torch.nn.InstanceNorm2d(2, affine=True),
                              lambda r: [r.standard_normal((3, 2, 3, 3))]),
    "MaskedConv2d A": (lambda: nn.MaskedConv2d(2, 3, 3, "A"),
                       lambda: TorchMaskedConv2d(2, 3, 3, "A"),
                       lambda r: [r.standard_normal((2, 2, 5, 5))]),
    "MaskedConv2d B": (lambda: nn.MaskedConv2d(3, 2, 5, "B"),
                       lambda: TorchMaskedConv2d(3, 2, 5, "B"),
                       lambda r: [r.standard_normal((1, 3, 6, 6))]),
    "BCELoss weight": (lambda: nn.BCELoss(weight=mg.tensor(_weights(4))),
                       lambda: torch.nn.BCELoss(weight=torch.from_numpy(_weights(4))),
                       lambda r: [_probabilities((3, 4), r), _probabilities((3, 4), r)]),
    "BCEWithLogitsLoss weight, pos_weight": (
        lambda: nn.BCEWithLogitsLoss(weight=mg.tensor(_weights(4)),
                                     pos_weight=mg.tensor(_weights(4, 6))),
        lambda: torch.nn.BCEWithLogitsLoss(weight=torch.from_numpy(_weights(4)),
                                           pos_weight=torch.from_numpy(_weights(4, 6))),
        lambda r: [r.standard_normal((3, 4)), _probabilities((3, 4), r)]),
    "NLLLoss weight": (lambda: nn.NLLLoss(weight=mg.tensor(_weights(5))),
                       lambda: torch.nn.NLLLoss(weight=torch.from_numpy(_weights(5))),
                       lambda r: [_log_probabilities((6, 5), r), r.integers(0, 5, 6)]),
    "CrossEntropyLoss weight": (lambda: nn.CrossEntropyLoss(weight=mg.tensor(_weights(5))),
                                lambda: torch.nn.CrossEntropyLoss(
                                    weight=torch.from_numpy(_weights(5))),
                                lambda r: [r.standard_normal((6, 5)), r.integers(0, 5, 6)]),
    "conv, batchnorm, linear network": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaskedConv2d(4, 2, 3, "B"), nn.Flatten(), nn.Linear(32, 6),
                              nn.BatchNorm1d(6, momentum=None), nn.Tanh(), nn.Linear(6, 2)),
        lambda: torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                    torch.nn.ReLU(), TorchMaskedConv2d(4, 2, 3, "B"),
                                    torch.nn.Flatten(), torch.nn.Linear(32, 6),
                                    torch.nn.BatchNorm1d(6, momentum=None), torch.nn.Tanh(),
                                    torch.nn.Linear(6, 2)),
        lambda r: [r.standard_normal((5, 1, 4, 4))]),
}


def _run(module, arrays, lib):
    wrap = mg.tensor if lib is mg else torch_from
    return flat_tensors(module(*[wrap(a) for a in arrays]))


def _assert_same_state(mg_module, torch_module, when):
    ours, theirs = mg_module.state_dict(), torch_module.state_dict()
    assert list(ours) == list(theirs), f"{when}: keys {list(ours)}, torch has {list(theirs)}"
    for key in theirs:
        assert ours[key].dtype == theirs[key].numpy().dtype, f"{when}: dtype of {key}"
        assert_close(ours[key], theirs[key], what=f"{when}: {key}")


@pytest.mark.parametrize("name", list(CASES))
def test_torch_state_dict_loads_runs_the_same_and_loads_back_into_torch(name):
    make_mg, make_torch, inputs = CASES[name]
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    twin = make_torch().double()
    with torch.no_grad():  # move the buffers off their initial values first
        for _ in range(2):
            twin(*[torch_from(a, requires_grad=False) for a in inputs(rng)])
    ours = make_mg().double()
    ours.load_state_dict(numpy_state(twin), strict=True)
    _assert_same_state(ours, twin, "after loading torch's state_dict")
    for step in range(3):
        batch = inputs(rng)
        assert_close(_run(ours, batch, mg), _run(twin, batch, torch), what=f"train step {step}")
        _assert_same_state(ours, twin, f"after train step {step}")
    ours.eval(), twin.eval()
    batch = inputs(rng)
    assert_close(_run(ours, batch, mg), _run(twin, batch, torch), what="eval mode")
    _assert_same_state(ours, twin, "after an eval step")
    back = make_torch().double()
    state = {k: v.numpy() for k, v in ours.state_dict().items()}
    back.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=True)
    for key, value in back.state_dict().items():
        assert value.numpy().dtype == state[key].dtype and np.array_equal(value.numpy(),
                                                                          state[key]), \
            f"{key} changed on the way back into torch"


def test_every_nn_module_with_buffers_has_a_round_trip_case():
    covered = {type(make_mg()) for make_mg, _, _ in CASES.values()}
    covered |= {type(m) for make_mg, _, _ in CASES.values() for m in make_mg().modules()}
    with_buffers = [cls for cls in vars(nn).values() if inspect.isclass(cls)
                    and issubclass(cls, nn.Module) and any(
                        "register_buffer(" in inspect.getsource(k) for k in cls.__mro__
                        if k.__module__.startswith("minigen.nn.") and k is not nn.Module)]
    assert with_buffers, "no module with buffers was found: the search is broken"
    missing = [cls.__name__ for cls in with_buffers if cls not in covered]
    assert not missing, f"no state_dict round trip against torch for {missing}"


@pytest.mark.parametrize("momentum", [0.1, None])
def test_num_batches_tracked_counts_training_batches_only(momentum):
    layer = nn.BatchNorm1d(2, momentum=momentum)
    assert layer.num_batches_tracked.dtype == np.int64 and layer.num_batches_tracked.ndim == 0
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((4, 2)) for _ in range(3)]
    for x in batches:
        layer(mg.tensor(x, dtype=mg.float32))
    layer.eval()
    layer(mg.tensor(batches[0], dtype=mg.float32))
    assert int(layer.num_batches_tracked.item()) == 3
    if momentum is None:  # the cumulative average of the batch means
        np.testing.assert_allclose(layer.running_mean.numpy(),
                                   np.mean([x.mean(0) for x in batches], 0), rtol=1e-5)
    layer.reset_running_stats()
    assert int(layer.num_batches_tracked.item()) == 0
