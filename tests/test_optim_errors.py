"""Optimizer errors: invalid hyper-parameters raise torch's message naming the value (checked against
torch itself), and wrong parameters (a single Tensor, a set, a non-leaf, an int tensor) are refused
with a sentence that says what was given and what to do."""
import numpy as np
import pytest
import torch

import minigen as mg
from test_optim_harness import initial_arrays, leaves

INVALID = [
    ("SGD", dict(lr=-1)),
    ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, weight_decay=-1e-4)),
    ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-0.001)),
    ("Adam", dict(eps=-1e-8)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(weight_decay=-0.01)),
    ("AdamW", dict(betas=(0.9, 1.5))),
    ("AdamW", dict(lr=float("nan"))),
    ("RMSprop", dict(alpha=-0.9)),
    ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1.0)),
]


@pytest.mark.parametrize("name,kwargs", INVALID,
                         ids=[f"{n}-{','.join(map(str, k.items()))}" for n, k in INVALID])
def test_invalid_hyperparameter_raises_torchs_message(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)(leaves(torch, initial_arrays()), **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(mg.optim, name)(leaves(mg, initial_arrays()), **kwargs)
    assert str(ours.value).startswith(str(theirs.value)), (str(ours.value), str(theirs.value))


def test_learning_rate_message_names_the_value():
    with pytest.raises(ValueError, match="^Invalid learning rate: -1$"):
        mg.optim.SGD(leaves(mg, initial_arrays()), lr=-1)


def test_an_invalid_value_in_a_parameter_group_is_refused_too():
    params = leaves(mg, initial_arrays())
    with pytest.raises(ValueError, match="Invalid learning rate: -0.5"):
        mg.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": -0.5}])
    opt = mg.optim.RMSprop(params[:1])
    with pytest.raises(ValueError, match="Invalid alpha value: -1"):
        opt.add_param_group({"params": params[1:], "alpha": -1})


def test_a_single_tensor_instead_of_an_iterable_is_refused():
    p = mg.tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a single Tensor of "
                                        "shape \\(2, 3\\); wrap it in a list"):
        mg.optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="one dict; wrap it in a list"):
        mg.optim.SGD({"params": [p]}, lr=0.1)


def test_empty_parameter_list_is_refused():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        mg.optim.Adam([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        mg.optim.Adam(p for p in [])


def test_a_set_of_parameters_is_refused_because_its_order_changes():
    with pytest.raises(TypeError, match="ordering of tensors in sets"):
        mg.optim.SGD([{"params": set(leaves(mg, initial_arrays()))}], lr=0.1)


def test_a_non_leaf_tensor_is_refused():
    p = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor: parameter 1 "
                                         "\\(shape \\(3,\\)\\)"):
        mg.optim.SGD([p, p * 2], lr=0.1)


def test_an_integer_tensor_is_refused_naming_its_dtype():
    with pytest.raises(TypeError, match="floating point tensors, but parameter 0 \\(shape \\(2,\\)\\) "
                                        "has dtype int64"):
        mg.optim.Adam([mg.tensor(np.array([1, 2]))])


def test_something_that_is_not_a_tensor_is_refused():
    with pytest.raises(TypeError, match="only optimize Tensors, but parameter 1 is a ndarray"):
        mg.optim.SGD([mg.tensor(np.ones(2), requires_grad=True), np.ones(2)], lr=0.1)


def test_a_parameter_in_two_groups_is_refused_and_a_duplicate_in_one_group_warns():
    params = leaves(mg, initial_arrays())
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        mg.optim.SGD([{"params": params[:2]}, {"params": params[1:]}], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        mg.optim.SGD([params[0], params[0]], lr=0.1)


def test_a_group_without_params_or_not_a_dict_is_refused():
    opt = mg.optim.SGD(leaves(mg, initial_arrays())[:1], lr=0.1)
    with pytest.raises(ValueError, match="needs a 'params' entry"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(TypeError, match="param_group must be a dict, but got list"):
        opt.add_param_group([mg.tensor(np.ones(1), requires_grad=True)])


def test_names_must_be_given_for_all_parameters_or_none():
    a, b = leaves(mg, initial_arrays())[:2]
    with pytest.raises(ValueError, match="Some param names are missing"):
        mg.optim.SGD([("a", a), b], lr=0.1)
