"""torch as the test oracle: build torch tensors from the same data, compare results.

The API is small and stable because every test file imports it:

    torch_from(array, requires_grad=True)   a torch tensor holding the same values and dtype
    assert_close(mg_value, torch_value, dtype=None)
                                            equal within the tolerance of the dtype (float64:
                                            1e-7, float32: 1e-4, relative and absolute; exact
                                            for ints and bools); values may be minigen Tensors,
                                            NumPy arrays, torch tensors, numbers, or (nested)
                                            tuples/lists of them
    to_numpy(value)                         a NumPy array from any of those
    numpy_dtype(torch_dtype)                torch.float32 -> numpy float32
"""
import numpy as np
import torch

import minigen as mg

TOLERANCES = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-4,
              np.dtype(np.float16): 1e-2}


def torch_from(array, requires_grad=True):
    """A torch leaf tensor with the values and dtype of ``array`` (an array or a minigen Tensor).
    Float tensors require grad by default; int and bool tensors never do."""
    a = np.array(to_numpy(array))  # a fresh C-ordered copy: torch never shares memory with a test
    t = torch.from_numpy(a)
    if requires_grad and t.is_floating_point():
        t.requires_grad_(True)
    return t


def to_numpy(value):
    """A NumPy array from a minigen Tensor, a torch tensor, an array or a number."""
    if isinstance(value, mg.Tensor):
        return value.numpy()
    if isinstance(value, torch.Tensor):
        if value._is_zerotensor():  # torch's lazy zero gradients (e.g. abs twice)
            return np.zeros(tuple(value.shape), dtype=numpy_dtype(value.dtype))
        return value.detach().cpu().numpy()
    return np.asarray(value)


def assert_close(mg_value, torch_value, dtype=None, rtol=None, atol=None, what="value"):
    """Assert that two results agree in shape and within the tolerance of ``dtype`` (by default
    the dtype of ``mg_value``). Tuples and lists are compared element by element; None must match
    None (an input without a gradient)."""
    if isinstance(mg_value, (tuple, list)) or isinstance(torch_value, (tuple, list)):
        assert isinstance(mg_value, (tuple, list)) and isinstance(torch_value, (tuple, list)) \
            and len(mg_value) == len(torch_value), \
            f"{what}: got {_describe(mg_value)} but expected {_describe(torch_value)}"
        for k, (m, t) in enumerate(zip(mg_value, torch_value)):
            assert_close(m, t, dtype, rtol, atol, f"{what}[{k}]")
        return
    if mg_value is None or torch_value is None:
        assert mg_value is None and torch_value is None, \
            f"{what}: got {_describe(mg_value)} but expected {_describe(torch_value)}"
        return
    actual, expected = to_numpy(mg_value), to_numpy(torch_value)
    assert actual.shape == expected.shape, \
        f"{what}: shape {actual.shape} but torch gives {expected.shape}"
    dtype = np.dtype(dtype) if dtype is not None else actual.dtype
    if dtype.kind not in "fc":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    tol = TOLERANCES.get(dtype, 1e-7)
    np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                               rtol=tol if rtol is None else rtol,
                               atol=tol if atol is None else atol, err_msg=what)


def numpy_dtype(torch_dtype):
    """The NumPy dtype of a torch dtype (torch.float32 -> float32)."""
    return torch.empty((), dtype=torch_dtype).numpy().dtype


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)}"
    return "None" if value is None else f"an array of shape {to_numpy(value).shape}"
