import numpy as np

import minigen as mg


def test_nn_utils_clip_grad_norm_scales_gradients_to_the_max_norm():
    p = mg.tensor(np.zeros(4), requires_grad=True)
    p.grad = mg.tensor(np.array([3.0, 4.0, 0.0, 0.0]))
    total = mg.nn.utils.clip_grad_norm_([p], max_norm=1.0)
    assert float(total) == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0, 0.0], rtol=1e-6)
