"""DANN training step (lecture §5.5), minigen vs a torch-CPU twin with the same weights.

One step of ``DANN.training_step`` on mnistm5k-shaped data, batch 64 source + 64 target images
(3x28x28): G_f on both, G_y on the source, G_d behind the gradient reversal, SGD with momentum,
then the source-only twin's step. The torch twin has the same module tree, loads minigen's
state_dict, and reverses the gradient with a torch.autograd.Function. Agreement is checked first
(losses and weights after two steps), then the steps alternate and the medians are printed.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dann.py [--steps 30]
"""
import argparse
import os
import statistics
import time

import numpy as np

import minigen as mg
from minigen.models.dann import DANN, reversal_weight

BATCH = 64
LR = 0.01
STEP = 1000         # the step index handed to training_step: lambda_p near 1


def torch_twin(model):
    import torch
    from torch import nn

    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lambd):
            ctx.lambd = lambd
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.lambd * g, None

    def mlp(sizes):
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    class Features(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 32, 5), nn.Conv2d(32, 48, 5)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            return nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2).flatten(1)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.features, self.label = Features(), mlp([768, 100, 100, 10])

        def forward(self, x):
            return self.label(self.features(x))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.adapted, self.domain = Classifier(), mlp([768, 100, 1])
            self.source_only = Classifier()

    twin = Twin()
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in model.state_dict().items()})
    dann = torch.optim.SGD(list(twin.adapted.parameters()) + list(twin.domain.parameters()),
                           lr=LR, momentum=0.9)
    baseline = torch.optim.SGD(twin.source_only.parameters(), lr=LR, momentum=0.9)
    lambd = reversal_weight(min(1.0, STEP / 1000))
    bce, ce = nn.functional.binary_cross_entropy_with_logits, nn.functional.cross_entropy

    def step(x_s, y_s, x_t):
        f = twin.adapted.features(torch.cat([x_s, x_t]))
        n = x_s.shape[0]
        label_loss = ce(twin.adapted.label(f[:n]), y_s)
        d = torch.cat([torch.ones(n), torch.zeros(x_t.shape[0])])
        domain_loss = bce(twin.domain(Reverse.apply(f, lambd)).reshape(-1), d)
        dann.zero_grad()
        (label_loss + domain_loss).backward()
        dann.step()
        baseline_loss = ce(twin.source_only(x_s), y_s)
        baseline.zero_grad()
        baseline_loss.backward()
        baseline.step()
        return label_loss.item(), domain_loss.item()
    return twin, step


def minigen_step(model):
    optimizers = model.configure_optimizers(LR)
    model.total_steps = 1000

    def step(x_s, y_s, x_t):
        losses = model.training_step((x_s, y_s, x_t), optimizers, STEP)
        return losses["label"], losses["domain"]
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    import torch
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    mg.manual_seed(0)
    model = DANN((3, 28, 28))
    twin, torch_step = torch_twin(model)
    ours = minigen_step(model)
    rng = np.random.default_rng(0)
    batches = [(rng.uniform(-1, 1, (BATCH, 3, 28, 28)).astype(np.float32),
                rng.integers(0, 10, BATCH).astype(np.int64),
                rng.uniform(-1, 1, (BATCH, 3, 28, 28)).astype(np.float32)) for _ in range(4)]
    for batch in batches[:2]:          # agreement first: two steps from the same weights
        a = ours(*[mg.tensor(b) for b in batch])
        b = torch_step(*[torch.from_numpy(b) for b in batch])
        np.testing.assert_allclose(a, b, rtol=1e-4)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), twin.state_dict()[key].numpy(), rtol=1e-3,
                                   atol=1e-5, err_msg=key)
    print("agreement: losses and weights after two steps match torch")
    times = {"minigen": [], "torch": []}
    for i in range(args.steps):
        batch = batches[i % len(batches)]
        for name, fn, convert in (("minigen", ours, mg.tensor),
                                  ("torch", torch_step, torch.from_numpy)):
            args_ = [convert(b) for b in batch]
            t0 = time.perf_counter()
            fn(*args_)
            times[name].append(time.perf_counter() - t0)
    t_mg, t_th = statistics.median(times["minigen"]), statistics.median(times["torch"])
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    print(f"DANN training step (both networks), batch {BATCH}+{BATCH}: minigen "
          f"{t_mg * 1e3:.1f} ms, torch {t_th * 1e3:.1f} ms, ratio {t_mg / t_th:.2f}x")


if __name__ == "__main__":
    main()
