"""Benchmark: the default VAE trained in minigen and as a torch twin, same start, same batches.

    python benchmarks/bench_vae.py --threads 1                    digits-binary, default steps
    python benchmarks/bench_vae.py --data mnist5k-binary --threads 1

The twin has the same modules under the same names and loads minigen's initial state_dict; the
benchmark first checks that both give the same encoder output and decoder log-likelihood and the
same gradients for a fixed eps. Then both train for the model's default number of steps on the
same batches (each draws its own eps), with a training step of each timed alternately, and both
are scored on the test split: ELBO and IWAE_k (k = 1000 by default), means in nats. The goal is
minigen within 1% of torch on both.
"""
import json
import math
import statistics
import time

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--data", default="digits-binary")
    parser.add_argument("--steps", type=int, default=None, help="default: the model's")
    parser.add_argument("--k", type=int, default=1000, help="samples of the IWAE bound")
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402
from _bench import blas_info  # noqa: E402


def torch_vae(torch, model):
    """A torch module with minigen's VAE architecture and parameter names (MLP, Bernoulli)."""
    nn = torch.nn
    if model.arch != "mlp" or model.likelihood != "bernoulli":
        raise SystemExit("the torch twin covers the default VAE (arch=mlp, Bernoulli decoder)")

    def twin(seq):
        layers = [nn.Flatten() if type(m).__name__ == "Flatten" else
                  nn.ReLU() if type(m).__name__ == "ReLU" else
                  nn.Linear(m.in_features, m.out_features) for m in seq]
        return nn.Sequential(*layers)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = twin(model.encoder), twin(model.decoder)
            self.shape = model.shape

        def encode(self, x):
            return self.encoder(x).chunk(2, dim=1)

        def log_likelihood(self, x, z):                   # Bernoulli(logits) of the 0/1 pixels
            logits = self.decoder(z).reshape(len(z), -1)
            target = ((x + 1) / 2).reshape(len(x), -1)
            return -nn.functional.binary_cross_entropy_with_logits(
                logits, target, reduction="none").sum(1)

        def elbo_terms(self, x, eps=None):
            mu, logvar = self.encode(x)
            eps = torch.randn_like(mu) if eps is None else eps
            z = mu + (logvar / 2).exp() * eps
            kl = 0.5 * (logvar.exp() + mu * mu - 1 - logvar).sum(1)
            return self.log_likelihood(x, z), kl

        def elbo(self, x):
            rec, kl = self.elbo_terms(x)
            return rec - kl

        def iwae(self, x, k, chunk):
            mu, logvar = self.encode(x)
            std = (logvar / 2).exp()
            log_w = []
            for start in range(0, k, chunk):
                m = min(chunk, k - start)
                eps = torch.randn(m, *mu.shape)
                z = mu + std * eps
                log_qz = (-0.5 * eps * eps - (logvar / 2) - 0.5 * math.log(2 * math.pi)).sum(2)
                log_pz = (-0.5 * z * z - 0.5 * math.log(2 * math.pi)).sum(2)
                xs = x.unsqueeze(0).expand(m, *x.shape).reshape(m * len(x), *x.shape[1:])
                log_px = self.log_likelihood(xs, z.reshape(m * len(x), -1)).reshape(m, len(x))
                log_w.append(log_px + log_pz - log_qz)
            return torch.logsumexp(torch.cat(log_w), 0) - math.log(k)

    vae = VAE()
    vae.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                         for k, v in model.state_dict().items()})
    return vae


def check_agreement(torch, model, twin, x):
    """Same (mu, logvar), same ELBO terms and parameter gradients for one fixed eps."""
    eps = np.random.default_rng(1).standard_normal((len(x), model.latent_dim)).astype(np.float32)
    xm, xt = mg.tensor(x), torch.from_numpy(x)
    mu, logvar = model.encode(xm)
    z = mu + (logvar * 0.5).exp() * mg.tensor(eps)
    from minigen.distributions import Normal, kl_divergence
    from minigen.models.vae import standard_normal
    kl = kl_divergence(Normal.from_logvar(mu, logvar), standard_normal(mu)).sum(1)
    ours = (model.log_likelihood(xm, z) - kl)
    ours.sum().backward()
    rec_t, kl_t = twin.elbo_terms(xt, torch.from_numpy(eps))
    theirs = rec_t - kl_t
    theirs.sum().backward()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-3)
    grads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-3, err_msg=name)
    model.zero_grad()
    twin.zero_grad()


def main(args):
    import torch
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    train, test = datasets.load(args.data, "train"), datasets.load(args.data, "test")
    defaults = models.train_defaults("vae", args.data)
    steps = args.steps or defaults["steps"]
    mg.manual_seed(0)
    torch.manual_seed(0)
    model = models.create("vae", train)
    twin = torch_vae(torch, model)
    check_agreement(torch, model, twin, train.x[:16])

    mg_opt = mg.optim.Adam(model.parameters(), lr=defaults["lr"])
    th_opt = torch.optim.Adam(twin.parameters(), lr=defaults["lr"])
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, len(train.x), defaults["batch_size"]) for _ in range(steps)]
    times = ([], [])
    for i, idx in enumerate(batches):
        x = train.x[idx]
        start = time.perf_counter()
        loss = model.loss(mg.tensor(x))
        mg_opt.zero_grad()
        loss.backward()
        mg_opt.step()
        middle = time.perf_counter()
        rec, kl = twin.elbo_terms(torch.from_numpy(x))
        loss_t = -(rec - kl).mean()
        th_opt.zero_grad()
        loss_t.backward()
        th_opt.step()
        if i >= 10:
            times[0].append(middle - start)
            times[1].append(time.perf_counter() - middle)

    model.eval()
    chunk = max(1, 50_000 // len(test.x))
    with mg.no_grad():
        xm = mg.tensor(test.x)
        ours = {"elbo": float(model.elbo(xm).numpy().mean()),
                "iwae": float(model.iwae(xm, args.k, chunk).numpy().mean())}
    with torch.no_grad():
        xt = torch.from_numpy(test.x)
        theirs = {"elbo": float(twin.elbo(xt).mean()),
                  "iwae": float(twin.iwae(xt, args.k, chunk).mean())}
    mg_s, th_s = statistics.median(times[0]), statistics.median(times[1])
    print(json.dumps({
        "data": args.data, "steps": steps, "k": args.k, "threads": threads, "blas": blas,
        "minigen": ours, "torch": theirs,
        "relative_difference": {key: round(abs(ours[key] - theirs[key]) / abs(theirs[key]), 4)
                                for key in ours},
        "train_step": {"minigen_ms": round(mg_s * 1e3, 3), "torch_ms": round(th_s * 1e3, 3),
                       "ratio": round(mg_s / th_s, 2)}}, indent=2))


if __name__ == "__main__":
    main(ARGS)
