"""Benchmark: DDPM's U-Net (minigen/models/unet.py) in minigen against a torch twin, in one run.

    python benchmarks/bench_unet.py --threads 1            mnist5k's default U-Net, 28x28
    python benchmarks/bench_unet.py --threads 2
    python benchmarks/bench_unet.py --data digits --threads 1
    python benchmarks/bench_unet.py --threads 1 --profile  also minigen's op table of the step

The torch twin below has the same modules under the same names, so it loads minigen's weights
through its state_dict; the benchmark first checks that both networks give the same eps_theta
and the same gradients, then times, alternating minigen and torch so that a load change on a
shared machine hits both (median over the repeats):

    train    one training step of the DDPM loss at the training batch size: forward, backward
             and Adam's update
    sample   one network call without gradients at the sampling batch size (500 images), the
             unit of cost of DDPM-1000 (1,000 calls per batch) and DDIM-50 (50 calls)

Each is timed by the wall clock and by this process's CPU time (time.process_time): on a
machine shared with other jobs the wall clock also counts the time the process waited for a core,
the CPU time only the time it ran (with several threads it adds theirs up). The peak memory of
the training step is measured for each framework in a fresh process that builds the model and
takes three training steps: the peak resident size during the steps above the resident size
before them.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--sample-batch", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="print minigen's op profile of the training step (CPU time)")
    parser.add_argument("--memory-of", choices=["minigen", "torch"], default=None,
                        help=argparse.SUPPRESS)   # the child process of the memory measurement
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402
from minigen.models.unet import norm_groups  # noqa: E402
from _bench import blas_info  # noqa: E402


def torch_unet(torch, unet):
    """A torch module with the architecture and parameter names of minigen's ``unet``."""
    nn, F = torch.nn, torch.nn.functional

    class Embedding(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.base_dim = src.base_dim
            emb = src.time_mlp[0].out_features
            self.time_mlp = nn.Sequential(nn.Linear(self.base_dim, emb), nn.SiLU(),
                                          nn.Linear(emb, emb))
            self.class_embedding = (nn.Embedding(src.num_classes + 1, emb)
                                    if src.class_embedding is not None else None)

        def forward(self, t, y):
            half = self.base_dim // 2
            freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
            args = t.float()[:, None] * freqs[None, :]
            emb = self.time_mlp(torch.cat([args.cos(), args.sin()], dim=1))
            return emb if y is None else emb + self.class_embedding(y)

    def group_norm(channels):
        return nn.GroupNorm(norm_groups(channels), channels)

    class Residual(nn.Module):
        def __init__(self, src):
            super().__init__()
            c_in, c_out = src.conv1.in_channels, src.conv1.out_channels
            self.norm1, self.norm2 = group_norm(c_in), group_norm(c_out)
            self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
            self.emb_proj = nn.Linear(src.emb_proj.in_features, c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
            self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

        def forward(self, x, emb):
            h = self.conv1(F.silu(self.norm1(x))) + self.emb_proj(F.silu(emb))[:, :, None, None]
            return self.skip(x) + self.conv2(F.silu(self.norm2(h)))

    class Attention(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.norm = group_norm(channels)
            self.qkv, self.proj = nn.Linear(channels, 3 * channels), nn.Linear(channels, channels)

        def forward(self, x):
            n, c, h, w = x.shape
            q, k, v = self.qkv(self.norm(x).reshape(n, c, h * w).transpose(1, 2)).chunk(3, -1)
            weights = (q @ k.transpose(1, 2) / math.sqrt(c)).softmax(-1)
            return x + self.proj(weights @ v).transpose(1, 2).reshape(n, c, h, w)

    class Resample(nn.Module):
        def __init__(self, src, up):
            super().__init__()
            c = src.conv.in_channels
            self.up = up
            self.conv = nn.Conv2d(c, c, 3, stride=1 if up else 2, padding=1)

        def forward(self, x):
            return self.conv(F.interpolate(x, scale_factor=2, mode="nearest") if self.up else x)

    def twin(block):
        kind = type(block).__name__
        if kind == "ResidualBlock":
            return Residual(block)
        if kind == "SelfAttention":
            return Attention(block.qkv.in_features)
        if kind in ("Downsample", "Upsample"):
            return Resample(block, up=kind == "Upsample")
        return nn.Identity()

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = Embedding(unet.embedding)
            self.conv_in = nn.Conv2d(unet.conv_in.in_channels, unet.conv_in.out_channels, 3,
                                     padding=1)
            self.down = nn.ModuleList([twin(b) for b in unet.down])
            self.mid = nn.ModuleList([twin(b) for b in unet.mid])
            self.up = nn.ModuleList([twin(b) for b in unet.up])
            self.norm_out = group_norm(unet.norm_out.num_channels)
            self.conv_out = nn.Conv2d(unet.conv_out.in_channels, unet.conv_out.out_channels, 3,
                                      padding=1)

        def forward(self, x, t, y=None):
            emb = self.embedding(t, y)
            h = self.conv_in(x)
            skips = [h]
            for block in self.down:
                h = block(h, emb) if isinstance(block, Residual) else block(h)
                skips.append(h)
            for block in self.mid:
                h = block(h, emb) if isinstance(block, Residual) else block(h)
            for block in self.up:
                h = block(torch.cat([h, skips.pop()], 1), emb) if isinstance(block, Residual) \
                    else block(h)
            return self.conv_out(F.silu(self.norm_out(h)))

    net = UNet()
    net.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                         for k, v in unet.state_dict().items()})
    return net


def check_agreement(torch, model, twin, x, t):
    """Both networks' eps_theta and input gradients agree (float32 tolerances)."""
    xm = mg.tensor(x, requires_grad=True)
    out = model.net(xm, mg.tensor(t))
    (out * out).sum().backward()
    xt = torch.from_numpy(x).requires_grad_()
    ref = twin(xt, torch.from_numpy(t))
    (ref * ref).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-3)


def setup(args, torch, check=True):
    """The model, its torch twin (agreement checked), both training steps and sampling calls."""
    dataset = datasets.load(args.data, "train")
    mg.manual_seed(0)
    model = models.create("ddpm", dataset)
    train = models.train_defaults("ddpm", args.data)
    rng = np.random.default_rng(0)
    # conv_out starts at zero; random weights there make the agreement check meaningful
    model.net.conv_out.weight.data[...] = rng.standard_normal(model.net.conv_out.weight.shape) * 0.1
    twin = torch_unet(torch, model.net)
    T = model.num_timesteps
    x = rng.standard_normal((8,) + dataset.shape).astype(np.float32)
    if check:
        check_agreement(torch, model, twin, x, rng.integers(0, T, 8))

    batch = dataset.x[rng.integers(0, len(dataset), train["batch_size"])]
    mg_opt, th_opt = mg.optim.Adam(model.parameters(), 1e-4), torch.optim.Adam(twin.parameters(),
                                                                                1e-4)

    def mg_train():
        x0 = mg.tensor(batch)
        t = mg.randint(0, T, (len(batch),))
        noise = mg.randn_like(x0)
        loss = mg.nn.functional.mse_loss(model.net(model.q_sample(x0, t, noise), t), noise)
        mg_opt.zero_grad()
        loss.backward()
        mg_opt.step()

    ab = torch.from_numpy(model.schedule.alphas_cumprod.astype(np.float32))

    def th_train():
        x0 = torch.from_numpy(batch)
        t = torch.randint(0, T, (len(batch),))
        noise = torch.randn_like(x0)
        a = ab[t].reshape(-1, 1, 1, 1)
        loss = torch.nn.functional.mse_loss(twin(a.sqrt() * x0 + (1 - a).sqrt() * noise, t),
                                            noise)
        th_opt.zero_grad()
        loss.backward()
        th_opt.step()

    xs = rng.standard_normal((args.sample_batch,) + dataset.shape).astype(np.float32)
    ts = np.full(args.sample_batch, T // 2)

    def mg_sample():
        with mg.no_grad():
            model.net(mg.tensor(xs), mg.tensor(ts))

    def th_sample():
        with torch.no_grad():
            twin(torch.from_numpy(xs), torch.from_numpy(ts))

    info = {"data": args.data, "parameters": sum(p.numel() for p in model.parameters()),
            "train_batch": train["batch_size"], "sample_batch": args.sample_batch}
    return info, {"train_step": (mg_train, th_train), "sample_call": (mg_sample, th_sample)}


def _status_bytes(field):
    """VmRSS (resident now) or VmHWM (peak resident) of this process, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(args):
    """Peak resident memory of three training steps above the resident size before them, for one
    framework (Linux: the peak is reset through /proc/self/clear_refs before the steps)."""
    import torch
    threads, _ = blas_info()
    torch.set_num_threads(threads)
    _, pairs = setup(args, torch, check=False)
    step = pairs["train_step"][0 if args.memory_of == "minigen" else 1]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_bytes("VmRSS")
    for _ in range(3):
        step()
    peak = _status_bytes("VmHWM")
    print(json.dumps({"peak_mib": round(max(peak - base, 0) / 2 ** 20, 1)}))


def peak_memory(args, framework):
    argv = [sys.executable, os.path.abspath(__file__), "--data", args.data, "--sample-batch",
            str(args.sample_batch), "--memory-of", framework]
    if args.threads is not None:
        argv += ["--threads", str(args.threads)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_mib"]


def main(args):
    import torch
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    info, pairs = setup(args, torch)
    result = dict(info, threads=threads, blas=blas,
                  openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
                  load_average=round(os.getloadavg()[0], 2), cores=os.cpu_count())
    for name, pair in pairs.items():
        result[name] = bench.alternate(pair, args.repeats)
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    result["train_step_peak_memory_mib"] = {f: peak_memory(args, f) for f in ("minigen", "torch")}
    print(json.dumps(result, indent=2))
    if args.profile:
        print(mg.profile(pairs["train_step"][0], steps=3, warmup=1, clock="cpu").table())


if __name__ == "__main__":
    if ARGS.memory_of:
        memory_child(ARGS)
    else:
        main(ARGS)
