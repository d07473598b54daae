"""Running sums and products against finite differences and torch: cumsum, cumprod and prod, over
negative dims, 0-d inputs and size-1 dims; cumprod and prod also with zeros among the elements
(where the gradient is not g * y / x); and the int64 results of integer and bool inputs."""
import hypothesis.strategies as st
import numpy as np
import torch

import minigen as mg
from minigen.testing import away_from_zero, shapes
from test_ops_harness import OpSpec, dims_of, forward_tests, one_dim, spec_tests

# The gradient of cumprod divides by x where no element is 0, as torch's does, so its second
# derivative cancels catastrophically for |x| near 1e-17 (in torch too): the plain specs keep
# away from 0, the *_with_zeros specs test exact zeros (another formula, exact).
nonzero = away_from_zero(0.2)
# zeros are common: one zero in a slice, and two (where every gradient of the slice is 0)
with_zeros = st.sampled_from([0.0, 0.0, -1.5, 0.5, 2.0])


@st.composite
def prod_case(draw):
    """prod over one dim (maybe negative) or over all elements (dim None), with keepdim."""
    shape = draw(shapes(0, 3, max_side=3))
    return (shape,), {"dim": draw(dims_of(len(shape), allow_tuple=False)),
                      "keepdim": draw(st.booleans())}


def _torch_prod(x, dim, keepdim):
    """torch.prod has no keepdim without a dim: the product, reshaped to one element per dim."""
    if dim is None:
        return x.prod().reshape((1,) * x.ndim) if keepdim else x.prod()
    return x.prod(dim, keepdim)


scan = one_dim(keepdim=False)
SPECS = [
    OpSpec("cumsum", lambda x, dim: mg.cumsum(x, dim), lambda x, dim: torch.cumsum(x, dim), scan),
    OpSpec("cumsum_method", lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim), scan),
    OpSpec("cumprod", lambda x, dim: mg.cumprod(x, dim), lambda x, dim: torch.cumprod(x, dim),
           scan, nonzero),
    OpSpec("cumprod_with_zeros", lambda x, dim: x.cumprod(dim), lambda x, dim: x.cumprod(dim),
           scan, with_zeros),
    OpSpec("prod", lambda x, dim, keepdim: mg.prod(x, dim, keepdim), _torch_prod, prod_case(),
           nonzero),
    OpSpec("prod_with_zeros", lambda x, dim, keepdim: x.prod(dim, keepdim), _torch_prod,
           prod_case(), with_zeros),
]
test_scan_gradients_match_finite_differences, test_scan_agrees_with_torch = spec_tests(SPECS)

# integer and bool inputs accumulate in int64, as in torch
INTEGER = [
    OpSpec("cumsum_int", lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim), scan,
           with_zeros, dtypes=(np.int32, np.int64, np.bool_)),
    OpSpec("cumprod_int", lambda x, dim: x.cumprod(dim), lambda x, dim: x.cumprod(dim), scan,
           with_zeros, dtypes=(np.int32, np.int64, np.bool_)),
    OpSpec("prod_int", lambda x, dim, keepdim: x.prod(dim, keepdim), _torch_prod, prod_case(),
           with_zeros, dtypes=(np.int32, np.int64, np.bool_)),
]
test_integer_scans_agree_with_torch = forward_tests(INTEGER)


def test_prod_of_an_empty_dim_is_one_as_in_torch():
    x = np.zeros((0, 2))
    for dim in (0, None):
        ours, theirs = mg.tensor(x).prod(dim), torch.from_numpy(x).prod(*(() if dim is None
                                                                          else (dim,)))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
