"""Benchmark: one WGAN-GP critic step on mnist5k (minigen/models/wgan.py) against a torch twin.

    python benchmarks/bench_wgan_gp.py --threads 1
    python benchmarks/bench_wgan_gp.py --data digits --threads 1

One critic step of the shipped mnist5k default (lecture §5.2) is

    fake    = G(z, y)                                   under no_grad (batch norm in train mode)
    x_hat   = eps x + (1 - eps) fake,  eps ~ U(0, 1) per example
    g       = grad_x_hat f(x_hat)                       create_graph=True (a backward, recorded)
    loss    = mean f(fake) - mean f(x) + lambda mean (||g||_2 - 1)^2
    backward of loss to the critic's weights            (through g: the double backward)
    Adam step of the critic

The torch twin has the same modules under the same names, so it loads minigen's state_dict; the
benchmark first checks that both compute the same loss and the same weight gradients from the
same eps and fakes, then times the step alternately (median over the repeats; wall and process
CPU time), and finally
profiles minigen's step by function (cProfile, own time) to say where its time goes.
"""
import cProfile
import json
import os
import pstats

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--repeats", type=int, default=7)
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402
from _bench import blas_info  # noqa: E402


def torch_twin(torch, model):
    """Torch modules with the architecture and parameter names of ``model``'s DCGAN players."""
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.body = nn.Sequential(*[bench.torch_layer(torch, m) for m in src.body])

        def forward(self, z):
            return self.body(z)

    class Critic(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.features = nn.Sequential(*[bench.torch_layer(torch, m) for m in src.features])
            self.head = nn.Linear(src.head.in_features, 1)

        def forward(self, x):
            return self.head(self.features(x)).reshape(-1)

    g, f = Generator(model.generator), Critic(model.discriminator)
    for twin, src in ((g, model.generator), (f, model.discriminator)):
        twin.load_state_dict(bench.torch_state(torch, src))
    return g, f


def torch_critic_loss(torch, critic, x, fake, eps, weight):
    x_hat = (eps * x + (1 - eps) * fake).requires_grad_()
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = (g.reshape(len(g), -1).pow(2).sum(1) + 1e-24).sqrt()
    return critic(fake).mean() - critic(x).mean() + weight * ((norms - 1) ** 2).mean()


def check_agreement(torch, model, critic, x, fake, seed=3):
    """Same loss and same critic weight gradients from the same eps and fakes."""
    mg.manual_seed(seed)
    loss, _ = model.d_objective(mg.tensor(x), mg.tensor(fake))
    params = list(model.discriminator.parameters())
    grads = mg.autograd.grad(loss, params)
    mg.manual_seed(seed)
    eps = mg.rand(len(x), 1, 1, 1).numpy()          # the draw that adv.interpolate makes
    ref = torch_critic_loss(torch, critic, *(torch.from_numpy(a) for a in (x, fake, eps)),
                            model.gp_weight)
    ref_grads = torch.autograd.grad(ref, list(critic.parameters()))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-4, atol=1e-4)
    for a, b in zip(grads, ref_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-3, atol=2e-4)


def profile_top(fn, repeats, top=8):
    """The ``top`` functions by own time over ``repeats`` calls of ``fn``, as share of the total."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [{"function": f"{os.path.basename(file)}:{line}({name})",
             "share": round(row[2] / total, 3)} for (file, line, name), row in rows]


def main(args):
    import torch
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    dataset = datasets.load(args.data, "train")
    mg.manual_seed(0)
    model = models.create("wgan-gp", dataset)
    train = models.train_defaults("wgan-gp", args.data)
    g_twin, f_twin = torch_twin(torch, model)
    rng = np.random.default_rng(0)
    batch = dataset.x[rng.integers(0, len(dataset), train["batch_size"])]
    z = rng.standard_normal((len(batch), model.latent_dim)).astype(np.float32)
    with mg.no_grad():
        fake = model.generator(mg.tensor(z)).numpy()
    check_agreement(torch, model, f_twin, batch, fake)

    optimizers = model.configure_optimizers(train["lr"])
    th_opt = torch.optim.Adam(f_twin.parameters(), lr=train["lr"], betas=model.betas)
    x_mg = mg.tensor(batch)

    def mg_step():
        model.discriminator_step(x_mg, None, optimizers["discriminator"])

    x_th = torch.from_numpy(batch)

    def th_step():
        with torch.no_grad():
            fake = g_twin(torch.randn(len(batch), model.latent_dim))
        eps = torch.rand(len(batch), 1, 1, 1)
        loss = torch_critic_loss(torch, f_twin, x_th, fake, eps, model.gp_weight)
        th_opt.zero_grad()
        loss.backward()
        th_opt.step()

    step = bench.alternate((mg_step, th_step), args.repeats)
    result = {"data": args.data, "threads": threads, "blas": blas,
              "batch": len(batch), "critic_parameters": sum(p.numel() for p in
                                                           model.discriminator.parameters()),
              "critic_step": step,
              "minigen_own_time_by_function": profile_top(mg_step, max(2, args.repeats // 2))}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(ARGS)
