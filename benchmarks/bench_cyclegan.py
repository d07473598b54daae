"""Benchmark: one CycleGAN training step on mnist5k-inverted (minigen/models/cyclegan.py) against
a torch twin.

    python benchmarks/bench_cyclegan.py --threads 1
    python benchmarks/bench_cyclegan.py --threads 1 --repeats 3

One training step of the shipped default (lecture §5.4): the generators' step

    fake_b, fake_a = G(a), F(b)
    L  = (D_B(fake_b) - 1)^2 + (D_A(fake_a) - 1)^2                   (means over the patches)
         + lambda (|F(fake_b) - a| + |G(fake_a) - b|)                (cycle, means over pixels)
         + 0.5 lambda (|G(b) - b| + |F(a) - a|)                      (identity)
    backward to the weights of G and F, Adam step

then both discriminators' step on the fakes through the image pools,

    L_D = ((D_B(b) - 1)^2 + D_B(pool_b(fake_b))^2) / 2
        + ((D_A(a) - 1)^2 + D_A(pool_a(fake_a))^2) / 2
    backward to the weights of D_A and D_B, Adam step

The torch twin has the same modules under the same names (residual generators with instance
norm as one group per channel, PatchGAN discriminators, zero padding, nearest upsampling, the
pools' buffers) and loads minigen's state_dict strictly. The benchmark first checks that both
give the same losses and the same weight gradients of all four networks from the same batch
(pools still filling: they return the fakes), strictly in float64 and loosely in float32 (where
an input of ReLU within rounding of 0 moves a gradient by about 1e-2); it exits non-zero if they
disagree. Then it times the whole step alternately (median over the repeats; wall and process
CPU time) and lists minigen's and torch's costliest ops by CPU time.
"""
import json
import os

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402

DATA = "mnist5k-inverted"
RTOL_FLOAT64 = 1e-6
RTOL_FLOAT32 = 5e-2       # a ReLU input within rounding of 0 moves a gradient by about 1e-2


def torch_twin(torch, model):
    """A torch CycleGAN with ``model``'s modules, parameter and buffer names, loaded from its
    state_dict (strict)."""
    nn, F = torch.nn, torch.nn.functional

    def sequential(src):
        return nn.Sequential(*[ResidualBlock(m) if type(m).__name__ == "ResidualBlock"
                               else bench.torch_layer(torch, m) for m in src])

    class ResidualBlock(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.body = sequential(src.body)

        def forward(self, x):
            return x + self.body(x)

    class Net(nn.Module):
        """A generator or a PatchGAN discriminator: its layers in ``net``."""

        def __init__(self, src):
            super().__init__()
            self.net = sequential(src.net)

        def forward(self, x):
            return self.net(x)

    class ImagePool(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.size = src.size
            self.register_buffer("images", torch.zeros(tuple(src.images.shape)))
            self.register_buffer("count", torch.zeros((), dtype=torch.int64))

        def query(self, fakes):
            fakes = fakes.detach()
            coin, slot = torch.rand(len(fakes)), torch.randint(0, self.size, (len(fakes),))
            out, count = fakes.clone(), int(self.count)
            for i in range(len(fakes)):
                if count < self.size:
                    self.images[count] = fakes[i]
                    count += 1
                elif coin[i] < 0.5:
                    out[i], self.images[slot[i]] = self.images[slot[i]].clone(), fakes[i]
            self.count.fill_(count)
            return out

    def adversarial(scores, target):
        return ((scores - target) ** 2).mean()

    class CycleGAN(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.generator = nn.ModuleDict({k: Net(v) for k, v in src.generator.items()})
            self.discriminator = nn.ModuleDict({k: Net(v) for k, v in src.discriminator.items()})
            self.pool_a, self.pool_b = ImagePool(src.pool_a), ImagePool(src.pool_b)
            self.cycle_weight, self.identity_weight = src.cycle_weight, src.identity_weight

        def generator_loss(self, a, b):
            G, F_ = self.generator["G"], self.generator["F"]
            D_A, D_B = self.discriminator["D_A"], self.discriminator["D_B"]
            fake_b, fake_a = G(a), F_(b)
            cycle = F.l1_loss(F_(fake_b), a) + F.l1_loss(G(fake_a), b)
            identity = F.l1_loss(G(b), b) + F.l1_loss(F_(a), a)
            loss = (adversarial(D_B(fake_b), 1.0) + adversarial(D_A(fake_a), 1.0)
                    + self.cycle_weight * cycle
                    + self.identity_weight * self.cycle_weight * identity)
            return loss, fake_a, fake_b

        def discriminator_loss(self, a, b, fake_a, fake_b):
            D_A, D_B = self.discriminator["D_A"], self.discriminator["D_B"]
            return (0.5 * (adversarial(D_B(b), 1.0)
                           + adversarial(D_B(self.pool_b.query(fake_b)), 0.0))
                    + 0.5 * (adversarial(D_A(a), 1.0)
                             + adversarial(D_A(self.pool_a.query(fake_a)), 0.0)))

        def training_step(self, a, b, optimizers):
            loss, fake_a, fake_b = self.generator_loss(a, b)
            bench.torch_step_player(torch, self.generator, optimizers["generator"], loss)
            bench.torch_step_player(torch, self.discriminator, optimizers["discriminator"],
                        self.discriminator_loss(a, b, fake_a, fake_b))

    if not model.identity_weight:
        raise SystemExit("the torch twin covers the default CycleGAN (identity loss on)")
    twin = CycleGAN(model)
    twin.load_state_dict(bench.torch_state(torch, model))
    return twin


def check_agreement(torch, model, twin, a, b, rtol):
    """Same losses and weight gradients of G, F, D_A and D_B from the same batch (the pools are
    still filling, so they return the fakes as they are); exits non-zero if not. Returns the
    largest relative difference of a gradient."""
    loss, (_, fake_a, fake_b) = model.generator_loss(mg.tensor(a), mg.tensor(b))
    d_loss = model.discriminator_loss(mg.tensor(a), mg.tensor(b), fake_a, fake_b)
    grads = {**bench.named_gradients(mg.autograd.grad, loss, model.generator, "generator"),
             **bench.named_gradients(mg.autograd.grad, d_loss, model.discriminator,
                                     "discriminator")}
    ref, ref_fake_a, ref_fake_b = twin.generator_loss(torch.from_numpy(a), torch.from_numpy(b))
    ref_d = twin.discriminator_loss(torch.from_numpy(a), torch.from_numpy(b), ref_fake_a,
                                    ref_fake_b)
    ref_grads = {**bench.named_gradients(torch.autograd.grad, ref, twin.generator, "generator"),
                 **bench.named_gradients(torch.autograd.grad, ref_d, twin.discriminator,
                                         "discriminator")}
    return bench.check_step(f"CycleGAN in {a.dtype}",
                            {"L_G": loss.item(), "L_D": d_loss.item()}, grads,
                            {"L_G": ref.item(), "L_D": ref_d.item()}, ref_grads, rtol)


def main(args):
    import torch
    threads, blas = bench.blas_info()
    torch.set_num_threads(threads)
    dataset = datasets.load(DATA, "train")
    train = models.train_defaults("cyclegan", DATA)
    mg.manual_seed(0)
    torch.manual_seed(0)
    model = models.create("cyclegan", dataset)
    twin = torch_twin(torch, model)
    source, target = model.training_arrays(dataset)
    idx = np.random.default_rng(0).integers(0, len(source), train["batch_size"])
    a, b = source[idx], target[idx]
    # strict in float64; float32's difference is reported (rounding flips a few ReLUs)
    with bench.float64(model, twin):
        agreement = {"float64": check_agreement(torch, model, twin, a.astype(np.float64),
                                                b.astype(np.float64), rtol=RTOL_FLOAT64)}
    agreement["float32"] = check_agreement(torch, model, twin, a, b, rtol=RTOL_FLOAT32)

    optimizers = model.configure_optimizers(train["lr"])
    th_optimizers = {name: torch.optim.Adam(player.parameters(), lr=train["lr"],
                                            betas=(0.5, 0.999))
                     for name, player in (("generator", twin.generator),
                                          ("discriminator", twin.discriminator))}
    a_mg, b_mg, a_th, b_th = mg.tensor(a), mg.tensor(b), torch.from_numpy(a), torch.from_numpy(b)

    def mg_step():
        model.training_step((a_mg, b_mg), optimizers, 0)

    def th_step():
        twin.training_step(a_th, b_th, th_optimizers)

    load = round(os.getloadavg()[0], 2)
    result = {"data": DATA, "threads": threads, "blas": blas, "batch": len(a),
              "repeats": args.repeats,
              "parameters": {name: sum(p.numel() for p in player.parameters())
                             for name, player in (("generators", model.generator),
                                                  ("discriminators", model.discriminator))},
              "load_average": load, "max_relative_gradient_difference": agreement,
              "train_step": bench.alternate((mg_step, th_step), args.repeats),
              "minigen_top_ops_cpu": bench.top_ops(mg_step),
              "torch_top_ops_cpu": bench.torch_top_ops(torch, th_step),
              "load_average_after": round(os.getloadavg()[0], 2)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(ARGS)
