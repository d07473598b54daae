"""A correct submission."""
import minigen as mg


def gradient_penalty(critic, real, fake, weight=10.0):
    n = real.shape[0]
    eps = mg.rand(n, *([1] * (real.ndim - 1)), dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).detach().requires_grad_(True)
    (g,) = mg.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = (g * g).reshape(n, -1).sum(dim=1).sqrt()
    return weight * ((norms - 1) ** 2).mean()
