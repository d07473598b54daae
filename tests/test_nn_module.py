"""The Module system as a specification: registration by assignment, traversal, train/eval,
state_dict keys and order identical to torch's for the same module tree, load_state_dict's errors,
containers, device/dtype moves, and reprs identical to torch's."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigen as mg
import minigen.nn as nn
from nn_oracle import numpy_state


def build(lib):
    """The same nested model in minigen and in torch (lib is minigen.nn or torch.nn)."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.Conv2d(3, 4, 3, padding=1)
            self.bn = lib.BatchNorm2d(4)
            self.act = lib.LeakyReLU(0.2)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.blocks = lib.ModuleList([Block(), lib.Identity()])
            self.heads = lib.ModuleDict({"mu": lib.Linear(4, 2), "logvar": lib.Linear(4, 2)})
            self.mlp = lib.Sequential(lib.Linear(2, 3), lib.GELU(), lib.Dropout(0.1),
                                      lib.Linear(3, 1, bias=False))
            self.rnn = lib.LSTM(3, 5, num_layers=2, batch_first=True)
            self.cell = lib.LSTMCell(2, 3)
            self.norms = lib.Sequential(OrderedDict(ln=lib.LayerNorm([2, 3]),
                                                    gn=lib.GroupNorm(2, 4),
                                                    bn1=lib.BatchNorm1d(3, affine=False)))
            self.emb = lib.Embedding(10, 3, padding_idx=0)
            self.up = lib.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
            self.scale = lib.Parameter(torch.ones(1) if lib is torch.nn else mg.ones(1))
            self.register_buffer("step", torch.zeros(()) if lib is torch.nn else mg.zeros())
            self.register_buffer("scratch", torch.zeros(2) if lib is torch.nn else mg.zeros(2),
                                 persistent=False)

    return Net()


def test_state_dict_keys_and_order_equal_torchs_for_the_same_tree():
    mine, theirs = build(nn), build(torch.nn)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert mine.state_dict()[key].shape == tuple(value.shape), key


def test_parameter_buffer_and_module_names_equal_torchs():
    mine, theirs = build(nn), build(torch.nn)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in mine.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in mine.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in mine.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(mine.parameters(recurse=False))) == 1


def test_repr_equals_torchs():
    assert repr(build(nn)) == repr(build(torch.nn))


def test_a_torch_state_dict_as_numpy_arrays_loads_and_round_trips():
    mine, theirs = build(nn), build(torch.nn)
    state = numpy_state(theirs)
    result = mine.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in mine.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key], err_msg=key)
        assert value.dtype == state[key].dtype, key  # int64 num_batches_tracked stays int64


def test_load_state_dict_reports_missing_unexpected_and_mismatched_all_at_once():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    before = model[0].weight.numpy().copy()
    del state["1.running_var"]
    state["0.weight"] = np.zeros((3, 5), dtype=np.float32)
    state["2.weight"] = np.zeros(3, dtype=np.float32)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "1.running_var".' in message
    assert 'Unexpected key(s) in state_dict: "2.weight".' in message
    assert "size mismatch for 0.weight: copying a param with shape (3, 5) from checkpoint, " \
           "the shape in current model is (3, 2)." in message
    np.testing.assert_array_equal(model[0].weight.numpy(), before)  # nothing was copied


def test_load_state_dict_non_strict_returns_the_incompatible_keys_like_torch():
    mine = nn.Sequential(nn.Linear(2, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3))
    state = {"0.weight": np.ones((3, 2), dtype=np.float32), "extra": np.zeros(1)}
    result = mine.load_state_dict(state, strict=False)
    expected = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()},
                                      strict=False)
    assert result.missing_keys == expected.missing_keys == ["0.bias"]
    assert result.unexpected_keys == expected.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(mine[0].weight.numpy(), np.ones((3, 2)))
    with pytest.raises(RuntimeError, match="size mismatch"):
        mine.load_state_dict({"0.weight": np.ones((2, 2))}, strict=False)


def test_load_state_dict_keeps_parameter_identity_and_casts_to_its_dtype():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    layer.load_state_dict({"weight": mg.tensor(np.eye(2)), "bias": np.array([1, 2])})
    assert layer.weight is weight and weight.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.numpy(), [1.0, 2.0])


def test_assignment_registers_parameters_modules_and_buffers():
    m = nn.Module()
    m.w = nn.Parameter(mg.zeros(2))
    m.child = nn.Linear(1, 1)
    m.register_buffer("count", mg.zeros(()))
    m.plain = mg.zeros(3)  # a plain Tensor attribute is not registered
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
    assert list(dict(m.named_buffers())) == ["count"]
    assert set(m.state_dict()) == {"w", "count", "child.weight", "child.bias"}
    m.count = mg.ones(())  # reassigning a buffer keeps it a buffer
    assert m.state_dict()["count"].item() == 1.0
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = mg.zeros(2)
    m.w = None
    assert "w" not in m.state_dict()
    del m.child
    assert not hasattr(m, "child")
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\)"):
        Broken()


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_and_eval_set_the_mode_everywhere():
    model = build(nn)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_apply_and_requires_grad():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    model(mg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Tanh", "Linear", "Sequential"]
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_to_dtype_casts_floating_tensors_only_and_keeps_identity():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    model.double()
    assert weight is model[0].weight and weight.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    assert model(mg.randn(3, 2, dtype=mg.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        model.to(np.int32)


def test_sequential_indexing_slicing_append_and_delete():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == layers[1:]
    seq.append(nn.Tanh())
    assert len(seq) == 4 and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Tanh"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    x = mg.randn(5, 2)
    np.testing.assert_allclose(seq(x).numpy(), seq[2](seq[1](seq[0](x))).numpy())
    with pytest.raises(IndexError, match="out of range"):
        seq[3]


def test_module_list_and_dict_behave_like_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml += [nn.Tanh()]
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh"]
    assert list(ml.state_dict()) == ["1.weight", "1.bias"]
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.Linear(2, 1)
    assert list(md) == ["a", "b"] and "b" in md and len(md) == 2
    assert list(md.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert isinstance(md.pop("a"), nn.Linear) and list(md.keys()) == ["b"]
    with pytest.raises(KeyError, match="no key 'z'"):
        md["z"]


def test_get_submodule_and_parameter_repr():
    model = build(nn)
    assert model.get_submodule("blocks.0.bn") is model.blocks[0].bn
    with pytest.raises(AttributeError, match="no sub-module 'nope'"):
        model.get_submodule("blocks.nope")
    assert repr(nn.Parameter(mg.zeros(1))).startswith("Parameter containing:\ntensor(")


def test_deepcopy_gives_an_independent_module_with_parameters():
    import copy
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    twin = copy.deepcopy(model)
    assert isinstance(twin[0].weight, nn.Parameter) and twin[0].weight is not model[0].weight
    assert list(twin.state_dict()) == list(model.state_dict())
    with mg.no_grad():
        twin[0].weight.zero_()
    assert model[0].weight.numpy().any()


def test_load_state_dict_of_something_that_is_not_a_mapping_is_a_type_error():
    with pytest.raises(TypeError, match="expects a mapping .* got list"):
        mg.nn.Linear(3, 2).load_state_dict([np.zeros((2, 3)), np.zeros(2)])
