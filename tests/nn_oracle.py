"""Helpers for the nn tests: run a minigen function or layer and its torch twin on the same data
and compare values, first derivatives and second derivatives.

    check_function(mg_fn, torch_fn, arrays, dtype)      forward, backward, double backward
    check_layer(mg_layer, torch_layer, x, dtype)        loads torch's state_dict into the minigen
                                                        layer, then compares the output and the
                                                        gradients of the input and every parameter
"""
import numpy as np
import torch

import minigen as mg
from oracle import assert_close, torch_from


def numpy_state(torch_module):
    """A torch module's state_dict as NumPy arrays (what a converted checkpoint holds)."""
    return {k: v.detach().cpu().numpy() for k, v in torch_module.state_dict().items()}


def flat_tensors(value):
    """The tensors of a nested tuple/list output (LSTM's output, (h, c)), in order."""
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat_tensors(v)]
    return [value]


def _cotangents(outputs, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(o.shape)) for o in outputs]


def _mg_grads(outputs, inputs, cotangents, create_graph=False):
    pairs = [(o, mg.tensor(v.astype(o.dtype))) for o, v in zip(outputs, cotangents)
             if o.requires_grad]
    return mg.autograd.grad([o for o, _ in pairs], inputs, [v for _, v in pairs],
                            create_graph=create_graph, allow_unused=True)


def _torch_grads(outputs, inputs, cotangents, create_graph=False):
    pairs = [(o, torch.from_numpy(v).to(o.dtype)) for o, v in zip(outputs, cotangents)
             if o.requires_grad]
    grads = torch.autograd.grad([o for o, _ in pairs], inputs, [v for _, v in pairs],
                                create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]


def _zeros_for_none(grads, inputs):
    return [mg.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


def check_function(mg_fn, torch_fn, arrays, dtype=np.float64, differentiable=None,
                   second_order=True, seed=0, rtol=None, atol=None):
    """Compare ``mg_fn(*tensors)`` with ``torch_fn(*tensors)`` on the same arrays: the outputs,
    the gradients J^T v for a random v, and (``second_order``) the gradient of <J^T v, w> for a
    random w, which checks the double backward. ``differentiable`` lists the argument positions
    that require grad (default: every float array)."""
    arrays = [np.asarray(a) for a in arrays]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    if differentiable is None:
        differentiable = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    mg_in = [mg.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    th_in = [torch_from(a, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    mg_out, th_out = flat_tensors(mg_fn(*mg_in)), flat_tensors(torch_fn(*th_in))
    tol = {"rtol": rtol, "atol": atol}
    assert_close(mg_out, th_out, what="output", **tol)
    if not differentiable:
        return
    mg_x = [mg_in[i] for i in differentiable]
    th_x = [th_in[i] for i in differentiable]
    v = _cotangents(th_out, seed)
    mg_g = _zeros_for_none(_mg_grads(mg_out, mg_x, v, create_graph=second_order), mg_x)
    th_g = _torch_grads(th_out, th_x, v, create_graph=second_order)
    assert_close(mg_g, th_g, what="gradient", **tol)
    if not second_order:
        return
    w = _cotangents(th_g, seed + 1)
    assert_close(_zeros_for_none(_mg_grads(mg_g, mg_x, w), mg_x),
                 _torch_grads(th_g, th_x, w), what="second-order gradient", **tol)


def check_layer(mg_layer, torch_layer, inputs, dtype=np.float64, seed=0, call=None,
                rtol=None, atol=None):
    """Load torch_layer's weights into mg_layer through load_state_dict (as NumPy arrays), run
    both on the same inputs, and compare the outputs and the gradients of the float inputs and of
    every parameter, matched by name. ``call(layer, *inputs)`` runs a layer (default: layer(x))."""
    call = call or (lambda layer, *xs: layer(*xs))
    if np.dtype(dtype) == np.float64:
        torch_layer.double()
        mg_layer.double()
    mg_layer.load_state_dict(numpy_state(torch_layer))
    inputs = [np.asarray(a) for a in (inputs if isinstance(inputs, (list, tuple)) else [inputs])]
    inputs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in inputs]
    mg_in = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    th_in = [torch_from(a) for a in inputs]
    mg_out = flat_tensors(call(mg_layer, *mg_in))
    th_out = flat_tensors(call(torch_layer, *th_in))
    tol = {"rtol": rtol, "atol": atol}
    assert_close(mg_out, th_out, what="output", **tol)
    names = [n for n, _ in torch_layer.named_parameters()]
    assert names == [n for n, _ in mg_layer.named_parameters()], "parameter names differ"
    mg_params = dict(mg_layer.named_parameters())
    th_params = dict(torch_layer.named_parameters())
    mg_x = [t for t in mg_in if t.requires_grad] + [mg_params[n] for n in names]
    th_x = [t for t in th_in if t.requires_grad] + [th_params[n] for n in names]
    v = _cotangents(th_out, seed)
    assert_close(_zeros_for_none(_mg_grads(mg_out, mg_x, v), mg_x),
                 _torch_grads(th_out, th_x, v), what="gradient", **tol)
    return mg_out, th_out
