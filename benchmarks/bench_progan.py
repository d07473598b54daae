"""Benchmark: one ProGAN training step on mnist5k (minigen/models/progan.py) against a torch twin.

    python benchmarks/bench_progan.py --threads 1
    python benchmarks/bench_progan.py --threads 1 --repeats 3

One training step of the shipped mnist5k default (lecture §5.3), at a step of the default
schedule (--steps, 2000: stage 0 | fade 1, stable 1 | fade 2, stable 2), is

    x_s     = the real batch at the stage's resolution, faded like the generator's output
    fake    = G(z, stage, alpha)                        under no_grad
    x_hat   = eps x_s + (1 - eps) fake,  eps ~ U(0, 1) per example
    g       = grad_x_hat f(x_hat)                       create_graph=True (a backward, recorded)
    L_D     = mean f(fake) - mean f(x_s) + lambda mean (||g||_2 - 1)^2 + 0.001 mean f(x_s)^2
    backward of L_D to the critic's weights             (through g: the double backward)
    Adam step of the critic
    L_G     = -mean f(G(z', stage, alpha)), backward to the generator's weights, Adam step

It is measured at two points of the schedule: the final stage (28x28, alpha = 1) and the middle
of the middle stage's fade-in (14x14, alpha = 0.5, where both networks run their old and new
paths). The torch twin has the same modules under the same names (equalized-lr convolutions,
pixel norm, minibatch stddev, the fade) and loads minigen's state_dict strictly. The benchmark
first checks that both give the same losses and the same weight gradients of both players from
the same batch, z and eps at both points, strictly in float64 and loosely in float32; it exits
non-zero if they disagree. Then it times the step alternately (median over the repeats; wall and
process CPU time) and lists minigen's and torch's costliest ops by CPU time.
"""
import json
import os

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None,
                        help="length of the schedule (default: the model's)")
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402
from minigen.models.adversarial import wasserstein_generator_loss  # noqa: E402
from minigen.models.progan import growth_schedule  # noqa: E402

DATA = "mnist5k"
RTOL_FLOAT64 = 1e-6
RTOL_FLOAT32 = 5e-2       # a leaky-ReLU input within rounding of 0 moves a gradient a little


def torch_twin(torch, model):
    """A torch ProGAN with ``model``'s modules, parameter and buffer names, loaded from its
    state_dict (strict)."""
    nn, F = torch.nn, torch.nn.functional

    def lrelu(x):
        return F.leaky_relu(x, 0.2)

    def upsample(x):
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def downsample(x):
        return F.avg_pool2d(x, 2)

    def pixel_norm(a, eps=1e-8):
        return a / ((a * a).mean(dim=1, keepdim=True) + eps).sqrt()

    def minibatch_stddev(x, eps=1e-8):
        std = (((x - x.mean(dim=0, keepdim=True)) ** 2).mean(dim=0) + eps).sqrt().mean()
        return torch.cat([x, std * x.new_ones(len(x), 1, *x.shape[2:])], dim=1)

    class Equalized(nn.Module):
        """Weights used as c w at every call (equalized learning rate)."""

        def __init__(self, src):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(tuple(src.weight.shape)))
            self.bias = nn.Parameter(torch.empty(tuple(src.bias.shape)))
            self.scale, self.padding = src.scale, getattr(src, "padding", None)

        def forward(self, x):
            if self.padding is None:
                return F.linear(x, self.weight * self.scale, self.bias)
            return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    class Pair(nn.Module):
        """conv1, conv2 of a generator or critic block."""

        def __init__(self, src):
            super().__init__()
            self.conv1, self.conv2 = Equalized(src.conv1), Equalized(src.conv2)

    class GeneratorBlock(Pair):
        def forward(self, h):
            h = pixel_norm(lrelu(self.conv1(upsample(h))))
            return pixel_norm(lrelu(self.conv2(h)))

    class CriticBlock(Pair):
        def forward(self, h):
            return downsample(lrelu(self.conv2(lrelu(self.conv1(h)))))

    class Generator(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.base_size, self.c0 = src.base_size, src.first_conv.weight.shape[0]
            self.first, self.first_conv = Equalized(src.first), Equalized(src.first_conv)
            self.blocks = nn.ModuleList([GeneratorBlock(b) for b in src.blocks])
            self.to_image = nn.ModuleList([Equalized(m) for m in src.to_image])

        def features(self, z, stage):
            h = lrelu(self.first(pixel_norm(z))).reshape(len(z), self.c0, self.base_size,
                                                          self.base_size)
            h = pixel_norm(lrelu(self.first_conv(pixel_norm(h))))
            for block in self.blocks[:stage]:
                h = block(h)
            return h

        def forward(self, z, stage, alpha=1.0):
            if stage == 0 or alpha >= 1.0:
                return self.to_image[stage](self.features(z, stage))
            h_old = self.features(z, stage - 1)
            old = upsample(self.to_image[stage - 1](h_old))
            new = self.to_image[stage](self.blocks[stage - 1](h_old))
            return (1.0 - alpha) * old + alpha * new

    class Critic(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.from_image = nn.ModuleList([Equalized(m) for m in src.from_image])
            self.blocks = nn.ModuleList([CriticBlock(b) for b in src.blocks])
            self.last_conv = Equalized(src.last_conv)
            self.dense, self.score = Equalized(src.dense), Equalized(src.score)

        def forward(self, x, stage, alpha=1.0):
            h = lrelu(self.from_image[stage](x))
            if stage > 0:
                h = self.blocks[stage - 1](h)
                if alpha < 1.0:
                    old = lrelu(self.from_image[stage - 1](downsample(x)))
                    h = (1.0 - alpha) * old + alpha * h
            for s in range(stage - 1, 0, -1):
                h = self.blocks[s - 1](h)
            h = lrelu(self.last_conv(minibatch_stddev(h)))
            return self.score(lrelu(self.dense(h.flatten(1)))).reshape(-1)

    class ProGAN(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.generator, self.discriminator = Generator(src.generator), Critic(src.discriminator)
            self.stages, self.latent_dim = src.stages, src.latent_dim
            self.gp_weight, self.drift = src.gp_weight, src.drift
            for name, buffer in src.named_buffers(recurse=False):
                self.register_buffer(name, torch.from_numpy(buffer.numpy().copy()))

        def real_at(self, x, stage, alpha):
            for _ in range(self.stages - 1 - stage):
                x = downsample(x)
            if stage > 0 and alpha < 1.0:
                x = (1.0 - alpha) * upsample(downsample(x)) + alpha * x
            return x

        def critic_loss(self, real, fake, stage, alpha, eps):
            f = lambda x: self.discriminator(x, stage, alpha)   # noqa: E731
            real_scores, fake_scores = f(real), f(fake)
            x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
            (g,) = torch.autograd.grad(f(x_hat).sum(), x_hat, create_graph=True)
            norms = (g.reshape(len(g), -1).pow(2).sum(1) + 1e-24).sqrt()
            return (fake_scores.mean() - real_scores.mean()
                    + self.gp_weight * ((norms - 1) ** 2).mean()
                    + self.drift * (real_scores ** 2).mean())

        def generator_loss(self, z, stage, alpha):
            return -self.discriminator(self.generator(z, stage, alpha), stage, alpha).mean()

        def training_step(self, x, optimizers, stage, alpha):
            real = self.real_at(x, stage, alpha)
            with torch.no_grad():
                fake = self.generator(torch.randn(len(x), self.latent_dim), stage, alpha)
            eps = torch.rand(len(x), 1, 1, 1)
            bench.torch_step_player(torch, self.discriminator, optimizers["discriminator"],
                        self.critic_loss(real, fake, stage, alpha, eps))
            z = torch.randn(len(x), self.latent_dim)
            bench.torch_step_player(torch, self.generator, optimizers["generator"],
                        self.generator_loss(z, stage, alpha))

    twin = ProGAN(model)
    twin.load_state_dict(bench.torch_state(torch, model))
    return twin


def minigen_gradients(model, x, z_fake, z_gen, stage, alpha, seed):
    """({L_D, L_G}, their gradients by name) of one step of ``model`` from fixed x, z and eps."""
    real = model.real_at(mg.tensor(x), stage, alpha)
    with mg.no_grad():
        fake = model.generator(mg.tensor(z_fake), stage, alpha)
    mg.manual_seed(seed)                                 # interpolate's eps: the first draw
    d_loss, _ = model.critic_loss(real, fake, stage, alpha)
    g_loss = wasserstein_generator_loss(model.discriminator(
        model.generator(mg.tensor(z_gen), stage, alpha), stage, alpha))
    grads = {**bench.named_gradients(mg.autograd.grad, d_loss, model.discriminator,
                                     "discriminator"),
             **bench.named_gradients(mg.autograd.grad, g_loss, model.generator, "generator")}
    return {"L_D": d_loss.item(), "L_G": g_loss.item()}, grads


def torch_gradients(torch, twin, x, z_fake, z_gen, stage, alpha, eps):
    """The same for the torch twin, with the eps that minigen drew."""
    real = twin.real_at(torch.from_numpy(x), stage, alpha)
    with torch.no_grad():
        fake = twin.generator(torch.from_numpy(z_fake), stage, alpha)
    d_loss = twin.critic_loss(real, fake, stage, alpha, torch.from_numpy(eps))
    g_loss = twin.generator_loss(torch.from_numpy(z_gen), stage, alpha)
    grads = {**bench.named_gradients(torch.autograd.grad, d_loss, twin.discriminator,
                                     "discriminator"),
             **bench.named_gradients(torch.autograd.grad, g_loss, twin.generator, "generator")}
    return {"L_D": d_loss.item(), "L_G": g_loss.item()}, grads


def check_agreement(torch, model, twin, x, stage, alpha, rtol, seed=3):
    """Same L_D, L_G and weight gradients of both players (in the dtype of ``x``); exits
    non-zero if not. Returns the largest relative difference of a gradient."""
    rng = np.random.default_rng(seed)
    z_fake, z_gen = (rng.standard_normal((len(x), model.latent_dim)).astype(x.dtype)
                     for _ in range(2))
    losses, grads = minigen_gradients(model, x, z_fake, z_gen, stage, alpha, seed)
    mg.manual_seed(seed)
    eps = mg.rand(len(x), 1, 1, 1, dtype=x.dtype).numpy()   # the draw adv.interpolate made
    ref_losses, ref_grads = torch_gradients(torch, twin, x, z_fake, z_gen, stage, alpha, eps)
    return bench.check_step(f"ProGAN at stage {stage}, alpha {alpha}, in {x.dtype}",
                            losses, grads, ref_losses, ref_grads, rtol)


def main(args):
    import torch
    threads, blas = bench.blas_info()
    torch.set_num_threads(threads)
    dataset = datasets.load(DATA, "train")
    train = models.train_defaults("progan", DATA)
    steps = args.steps or train["steps"]
    mg.manual_seed(0)
    torch.manual_seed(0)
    model = models.create("progan", dataset)
    twin = torch_twin(torch, model)
    rng = np.random.default_rng(0)
    x = dataset.x[rng.integers(0, len(dataset), train["batch_size"])]
    x_mg, x_th = mg.tensor(x), torch.from_numpy(x)

    # the final stage's stabilization and the middle of the middle stage's fade (both halfway)
    phases = 1 + 2 * (model.stages - 1)
    middle = model.stages // 2
    points = {"final": round(steps * (phases - 0.5) / phases),
              "middle_fade": round(steps * (2 * middle - 0.5) / phases)}
    growths = {name: growth_schedule(step, steps, model.stages) for name, step in points.items()}
    # strict in float64; float32's difference is reported
    with bench.float64(model, twin):
        agreement = {name: {"float64": check_agreement(torch, model, twin, x.astype(np.float64),
                                                       stage, alpha, RTOL_FLOAT64)}
                     for name, (stage, alpha) in growths.items()}
    for name, (stage, alpha) in growths.items():
        agreement[name]["float32"] = check_agreement(torch, model, twin, x, stage, alpha,
                                                     RTOL_FLOAT32)

    optimizers = model.configure_optimizers(train["lr"])
    model.configure_schedulers(optimizers, steps)
    th_optimizers = {name: torch.optim.Adam(player.parameters(), lr=train["lr"],
                                            betas=(0.0, 0.99), eps=1e-8)
                     for name, player in (("generator", twin.generator),
                                          ("discriminator", twin.discriminator))}
    result = {"data": DATA, "threads": threads, "blas": blas, "batch": len(x),
              "schedule_steps": steps, "repeats": args.repeats,
              "parameters": {name: sum(p.numel() for p in player.parameters())
                             for name, player in (("generator", model.generator),
                                                  ("critic", model.discriminator))},
              "load_average": round(os.getloadavg()[0], 2)}
    for name, step in points.items():
        stage, alpha = growths[name]

        def mg_step():
            model.training_step((x_mg,), optimizers, step)

        def th_step():
            twin.training_step(x_th, th_optimizers, stage, alpha)

        result[name] = {"step": step, "stage": stage, "alpha": alpha,
                        "resolution": model.resolution(stage),
                        "max_relative_gradient_difference": agreement[name],
                        "train_step": bench.alternate((mg_step, th_step), args.repeats),
                        "minigen_top_ops_cpu": bench.top_ops(mg_step),
                        "torch_top_ops_cpu": bench.torch_top_ops(torch, th_step)}
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(ARGS)
