"""Benchmark: the PixelCNN family (pixelcnn, gated-pixelcnn, pixelcnn++) against torch twins.

    python benchmarks/bench_pixelcnn.py --threads 1                 all three, mnist5k-binary
    python benchmarks/bench_pixelcnn.py --model pixelcnn --data mnist5k --threads 2
    python benchmarks/bench_pixelcnn.py --model pixelcnn --nll --data digits-binary

Each torch twin below has the modules of the minigen network under the same names, so it loads
minigen's weights through its state_dict. The benchmark first checks that both give the same
log p(x) and the same gradients, then times, alternating minigen and torch so that a load change
on a shared machine hits both (median over the repeats):

    train    one training step at the default batch size: -log p(x) forward, backward, Adam
    sample   the raster sampler, n images at once (the same row crops in both), in samples/s

With ``--nll`` it also trains the plain PixelCNN and its twin from the same initial weights on
the same batches for the same steps (minigen's default step count, or ``--steps``) and reports
both test NLLs (nats per image), which should agree within 1%; both without dropout, since their
masks would come from different random generators. (The twins have no dropout modules: in the
timed training step only minigen's network applies the default dropout, a few percent of it.)
"""
import json
import statistics
import time

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--model", default="all", choices=["all", "pixelcnn", "gated-pixelcnn",
                                                           "pixelcnn++"])
    parser.add_argument("--data", default="mnist5k-binary")
    parser.add_argument("--samples", type=int, default=16, help="images drawn per sampling run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nll", action="store_true", help="also train pixelcnn and its twin")
    parser.add_argument("--steps", type=int, default=None, help="training steps for --nll")
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402
from _bench import blas_info  # noqa: E402


def torch_twin(torch, model):
    """A torch module with the architecture and parameter names of minigen's ``model``."""
    nn, F = torch.nn, torch.nn.functional

    def conv_like(src):
        return nn.Conv2d(src.in_channels, src.out_channels, src.kernel_size, src.stride,
                         src.padding)

    class Masked(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(src.weight.shape))
            self.bias = nn.Parameter(torch.zeros(src.bias.shape))
            self.register_buffer("mask", torch.zeros(src.mask.shape))
            self.padding = src.padding

        def forward(self, x):
            return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def shift_down(x):
        return F.pad(x, (0, 0, 1, 0))[:, :, :-1]

    class PixelCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_conv = Masked(model.input_conv)
            self.blocks = nn.Sequential(*[Residual(b) for b in model.blocks])
            self.hidden, self.output = Masked(model.hidden), Masked(model.output)

        def forward(self, x):
            return self.output(F.relu(self.hidden(F.relu(self.blocks(self.input_conv(x))))))

    class Residual(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.reduce, self.conv = Masked(src.reduce), Masked(src.conv)
            self.expand = Masked(src.expand)

        def forward(self, x):
            return x + self.expand(F.relu(self.conv(F.relu(self.reduce(F.relu(x))))))

    class GatedLayer(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.k, self.first = src.k, src.first
            for name in ("vertical", "horizontal", "v_to_h", "h_out", "skip"):
                setattr(self, name, conv_like(getattr(src, name)))

        def forward(self, v, h):
            half = self.k // 2
            v_pre = self.vertical(F.pad(v, (half, half, half, 0)))
            h_in = F.pad(h, (half, 0, 0, 0))
            h_pre = self.horizontal(h_in[..., :-1] if self.first else h_in) \
                + self.v_to_h(shift_down(v_pre))
            gate = lambda p: torch.tanh(p.chunk(2, 1)[0]) * torch.sigmoid(p.chunk(2, 1)[1])  # noqa
            g = gate(h_pre)
            return gate(v_pre), self.h_out(g) if self.first else h + self.h_out(g), self.skip(g)

    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([GatedLayer(layer) for layer in model.layers])
            self.hidden, self.output = conv_like(model.hidden), conv_like(model.output)

        def forward(self, x):
            v = h = x
            skip = 0
            for layer in self.layers:
                v, h, s = layer(v, h)
                skip = skip + s
            return self.output(F.relu(self.hidden(F.relu(skip))))

    class Shifted(nn.Module):
        def __init__(self, src, right):
            super().__init__()
            self.kernel, self.right, self.conv = src.kernel, right, conv_like(src.conv)

        def forward(self, x):
            kh, kw = self.kernel
            pad = (kw - 1, 0) if self.right else ((kw - 1) // 2, (kw - 1) // 2)
            return self.conv(F.pad(x, pad + (kh - 1, 0)))

    class Deconv(nn.Module):
        def __init__(self, src, crop):
            super().__init__()
            d = src.deconv
            self.crop = crop
            self.deconv = nn.ConvTranspose2d(d.in_channels, d.out_channels, d.kernel_size,
                                             d.stride)

        def forward(self, x):
            y = self.deconv(x)
            return y[..., 1:] if self.crop else y

    class Resnet(nn.Module):
        def __init__(self, src, right):
            super().__init__()
            self.conv_in, self.conv_out = Shifted(src.conv_in, right), Shifted(src.conv_out, right)
            self.aux = conv_like(src.aux) if src.aux is not None else None

        def forward(self, x, aux=None):
            c = self.conv_in(F.elu(x))
            if aux is not None:
                c = c + self.aux(F.elu(aux))
            a, b = self.conv_out(F.elu(c)).chunk(2, 1)
            return x + a * torch.sigmoid(b)

    class PlusPlus(nn.Module):
        def __init__(self):
            super().__init__()
            m = model
            self.u_init = Shifted(m.u_init, False)
            self.ul_init_up, self.ul_init_left = Shifted(m.ul_init_up, False), \
                Shifted(m.ul_init_left, True)
            streams = lambda src, right: nn.ModuleList(  # noqa: E731
                [nn.ModuleList([Resnet(b, right) for b in level]) for level in src])
            self.up_u, self.up_ul = streams(m.up_u, False), streams(m.up_ul, True)
            self.down_u, self.down_ul = streams(m.down_u, False), streams(m.down_ul, True)
            self.down_sample_u = nn.ModuleList([Shifted(s, False) for s in m.down_sample_u])
            self.down_sample_ul = nn.ModuleList([Shifted(s, True) for s in m.down_sample_ul])
            self.up_sample_u = nn.ModuleList([Deconv(s, True) for s in m.up_sample_u])
            self.up_sample_ul = nn.ModuleList([Deconv(s, False) for s in m.up_sample_ul])
            self.output = conv_like(m.output)

        def forward(self, x):
            x = torch.cat([x, torch.ones_like(x[:, :1])], 1)
            u = shift_down(self.u_init(x))
            ul = shift_down(self.ul_init_up(x)) + F.pad(self.ul_init_left(x), (1, 0))[..., :-1]
            us, uls = [u], [ul]
            for level in range(3):
                for bu, bul in zip(self.up_u[level], self.up_ul[level]):
                    u = bu(u)
                    ul = bul(ul, u)
                    us.append(u)
                    uls.append(ul)
                if level < 2:
                    u, ul = self.down_sample_u[level](u), self.down_sample_ul[level](ul)
                    us.append(u)
                    uls.append(ul)
            u, ul = us.pop(), uls.pop()
            for level in range(3):
                for bu, bul in zip(self.down_u[level], self.down_ul[level]):
                    u = bu(u, us.pop())
                    ul = bul(ul, torch.cat([u, uls.pop()], 1))
                if level < 2:
                    u, ul = self.up_sample_u[level](u), self.up_sample_ul[level](ul)
            return self.output(F.elu(ul))

    kind = type(model).__name__
    net = {"PixelCNN": PixelCNN, "GatedPixelCNN": Gated, "PixelCNNPlusPlus": PlusPlus}[kind]()
    net.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                         for k, v in model.state_dict().items()})
    return net


def torch_log_prob(torch, head, out, x):
    """log p(x) per image from the network output, as minigen's PixelHead computes it."""
    F = torch.nn.functional
    levels = head.levels
    k = torch.round((x + 1) * (levels - 1) / 2).long()
    n, _, h, w = out.shape
    if head.kind == "bernoulli":
        return -F.binary_cross_entropy_with_logits(out, k.float(), reduction="none").sum((1, 2, 3))
    if head.kind == "categorical":
        logits = out.reshape(n, head.channels, levels, h, w)
        return -F.cross_entropy(logits.transpose(1, 2), k, reduction="none").sum((1, 2, 3))
    m = head.num_mixtures                                  # grey mixture, as in distributions.py
    logits, mean, log_s = out[:, :m], out[:, m:2 * m], out[:, 2 * m:3 * m].clamp(min=-7.0)
    c = 2.0 * k.float() / (levels - 1) - 1.0
    half, inv_s = 1.0 / (levels - 1), torch.exp(-log_s)
    a, b = (c - half - mean) * inv_s, (c + half - mean) * inv_s
    d = 2 * half * inv_s
    log_width = torch.where(d < 0.1, np.log(2 * half) - log_s - d / 2 + d * d / 24,
                            torch.log(-torch.expm1(-d.clamp(min=0.1))))
    inner = -F.softplus(-b) - F.softplus(a) + log_width
    lp = torch.where(k == 0, -F.softplus(-b), torch.where(k == levels - 1, -F.softplus(a), inner))
    return torch.logsumexp(torch.log_softmax(logits, 1) + lp, 1).sum((1, 2))


def check_agreement(torch, model, twin, x):
    """log p(x) and the gradient of its sum with respect to the first layer agree (float32)."""
    model.eval()
    twin.eval()
    lp = model.log_prob(mg.tensor(x))
    lp.sum().backward()
    ref = torch_log_prob(torch, model.head, twin(torch.from_numpy(x)), torch.from_numpy(x))
    ref.sum().backward()
    np.testing.assert_allclose(lp.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-2)
    name, param = next(iter(model.named_parameters()))
    twin_param = dict(twin.named_parameters())[name]
    np.testing.assert_allclose(param.grad.numpy(), twin_param.grad.numpy(), rtol=1e-3,
                               atol=1e-3 * float(np.abs(twin_param.grad.numpy()).max()))
    model.zero_grad()
    twin.zero_grad()


def torch_sample(torch, model, twin, n):
    """The raster sampler of autoregressive.py with the torch network (same row crops)."""
    c, h, w = model.shape
    x = torch.zeros(n, c, h, w)
    head = model.head
    with torch.no_grad():
        for i in range(h):
            lo, hi = model._rows(i, h)
            for j in range(w):
                for ch in range(c) if head.per_channel else [None]:
                    out = twin(x[:, :, lo:hi])[:, :, i - lo, j]
                    if head.kind == "bernoulli":
                        x[:, ch, i, j] = 2 * torch.bernoulli(torch.sigmoid(out[:, ch])) - 1
                    elif head.kind == "categorical":
                        logits = out.reshape(n, c, head.levels)[:, ch]
                        k = torch.distributions.Categorical(logits=logits).sample()
                        x[:, ch, i, j] = 2.0 * k / (head.levels - 1) - 1
                    else:
                        m = head.num_mixtures
                        comp = torch.distributions.Categorical(logits=out[:, :m]).sample()
                        mean = out[:, m:2 * m].gather(1, comp[:, None])[:, 0]
                        log_s = out[:, 2 * m:3 * m].clamp(min=-7).gather(1, comp[:, None])[:, 0]
                        u = torch.rand(n).clamp(1e-12, 1 - 1e-12)
                        y = mean + log_s.exp() * (u.log() - (-u).log1p())
                        k = torch.round((y.clamp(-1, 1) + 1) * (head.levels - 1) / 2)
                        x[:, 0, i, j] = 2.0 * k / (head.levels - 1) - 1
    return x


def timed_pair(pair, repeats):
    times = ([], [])
    for fn in pair:          # warm-up: first calls pay for allocations
        fn()
    for _ in range(repeats):
        for fn, out in zip(pair, times):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_model(torch, name, args, rng):
    dataset = datasets.load(args.data, "train")
    mg.manual_seed(0)
    model = models.create(name, data=dataset)
    train = models.train_defaults(name, args.data)
    twin = torch_twin(torch, model)
    check_agreement(torch, model, twin, dataset.x[:4])
    model.train()
    twin.train()
    batch = dataset.x[rng.integers(0, len(dataset), train["batch_size"])]
    mg_opt = model.configure_optimizers(1e-4)
    th_opt = torch.optim.Adam(twin.parameters(), 1e-4)
    step = [0]

    def mg_train():
        model.training_step((mg.tensor(batch),), mg_opt, step[0])
        step[0] += 1

    def th_train():
        xt = torch.from_numpy(batch)
        loss = -torch_log_prob(torch, model.head, twin(xt), xt).mean()
        th_opt.zero_grad()
        loss.backward()
        th_opt.step()

    result = {"parameters": sum(p.numel() for p in model.parameters()),
              "train_batch": train["batch_size"]}
    result["train_step"] = bench.alternate((mg_train, th_train), args.repeats)
    result["minigen_top_ops"] = bench.top_ops(mg_train)
    model.eval()
    twin.eval()

    def mg_sample():
        with mg.no_grad():
            model.sample(args.samples)

    mg_s, th_s = timed_pair((mg_sample, lambda: torch_sample(torch, model, twin, args.samples)),
                            1)
    result["sampling"] = {"n": args.samples, "minigen_per_s": round(args.samples / mg_s, 3),
                          "torch_per_s": round(args.samples / th_s, 3),
                          "ratio": round(th_s / mg_s, 2)}
    return result


def nll_comparison(torch, args, rng):
    """Train pixelcnn and its twin from the same weights on the same batches; both test NLLs."""
    train_set, test_set = datasets.load(args.data, "train"), datasets.load(args.data, "test")
    defaults = models.train_defaults("pixelcnn", args.data)
    steps = args.steps or defaults["steps"]
    mg.manual_seed(0)
    # dropout masks would come from two different generators, so both train without dropout
    model = models.create("pixelcnn", data=train_set, dropout=0.0)
    twin = torch_twin(torch, model)
    mg_opt = model.configure_optimizers(defaults["lr"])
    th_opt = torch.optim.Adam(twin.parameters(), defaults["lr"])
    order = np.random.default_rng(0)
    seconds = [0.0, 0.0]
    for step in range(steps):
        batch = train_set.x[order.choice(len(train_set), defaults["batch_size"], replace=False)]
        start = time.perf_counter()
        model.training_step((mg.tensor(batch),), mg_opt, step)
        seconds[0] += time.perf_counter() - start
        start = time.perf_counter()
        xt = torch.from_numpy(batch)
        loss = -torch_log_prob(torch, model.head, twin(xt), xt).mean()
        th_opt.zero_grad()
        loss.backward()
        th_opt.step()
        seconds[1] += time.perf_counter() - start
    model.eval()
    twin.eval()
    with mg.no_grad(), torch.no_grad():
        mg_nll = -float(np.mean(model.log_prob(mg.tensor(test_set.x)).numpy()))
        xt = torch.from_numpy(test_set.x)
        th_nll = -float(torch_log_prob(torch, model.head, twin(xt), xt).mean())
    return {"data": args.data, "steps": steps, "batch_size": defaults["batch_size"],
            "minigen_test_nll": round(mg_nll, 3), "torch_test_nll": round(th_nll, 3),
            "relative_difference": round((mg_nll - th_nll) / th_nll, 4),
            "train_seconds": {"minigen": round(seconds[0], 1), "torch": round(seconds[1], 1)}}


def main(args):
    import torch
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    names = ["pixelcnn", "gated-pixelcnn", "pixelcnn++"] if args.model == "all" else [args.model]
    result = {"data": args.data, "threads": threads, "blas": blas}
    for name in names:
        result[name] = bench_model(torch, name, args, rng)
        print(json.dumps({name: result[name]}), flush=True)
    if args.nll:
        result["nll"] = nll_comparison(torch, args, rng)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(ARGS)
