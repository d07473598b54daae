"""Benchmark: a PixelRNN training step (Row LSTM and Diagonal BiLSTM) in minigen against a torch
twin that loads the same state_dict, in one run.

    python benchmarks/bench_pixelrnn.py --threads 1                       digits-binary defaults
    python benchmarks/bench_pixelrnn.py --data mnist5k-binary --threads 1

The twin below has the same modules under the same names (masks included, as buffers); the
benchmark first checks that both give the same log-likelihood and the same gradients, then
times one training step of each (forward, backward, Adam) on the default batch, alternating the
two libraries (median over the repeats), and prints the ratios as JSON.
"""
import json
import os

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--data", default="digits-binary")
    parser.add_argument("--repeats", type=int, default=10)
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from minigen import data as datasets, models  # noqa: E402
from _bench import blas_info  # noqa: E402
from bench_lstm import check_close  # noqa: E402


def torch_pixelrnn(torch, model):
    """A torch module with the architecture and parameter names of minigen's PixelRNN
    (single channel, Bernoulli head)."""
    nn, F = torch.nn, torch.nn.functional

    def conv(src):
        layer = nn.Conv2d(src.in_channels, src.out_channels, src.kernel_size,
                          padding=src.padding, bias=src.bias is not None)
        if hasattr(src, "mask"):
            layer.register_buffer("mask", torch.ones_like(layer.weight))
            layer.forward = lambda x, c=layer: F.conv2d(x, c.weight * c.mask, c.bias,
                                                        padding=c.padding)
        return layer

    def scan(x_gates, dim, state_to_state):
        c, h, outputs = 0.0, None, []
        for gates in x_gates.unbind(dim):
            if h is not None:
                gates = gates + state_to_state(h)
            i, f, g, o = gates.chunk(4, 1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
            outputs.append(h)
        return torch.stack(outputs, dim)

    def skew(x):
        n, ch, hh, w = x.shape
        flat = F.pad(x, (0, hh)).reshape(n, ch, hh * (w + hh))
        return flat[:, :, :hh * (w + hh - 1)].reshape(n, ch, hh, w + hh - 1)

    def unskew(x, width):
        n, ch, hh, s = x.shape
        return F.pad(x.reshape(n, ch, hh * s), (0, hh)).reshape(n, ch, hh, width + hh)[..., :width]

    class Row(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.input_to_state, self.state_to_state = conv(src.input_to_state), conv(
                src.state_to_state)

        def forward(self, x):
            return scan(self.input_to_state(x), 2,
                        lambda h: self.state_to_state(h.unsqueeze(2)).squeeze(2))

    class Diagonal(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.input_to_state, self.state_to_state = conv(src.input_to_state), conv(
                src.state_to_state)

        def forward(self, x):
            h = scan(skew(self.input_to_state(x)), 3,
                     lambda h: self.state_to_state(F.pad(h.unsqueeze(3), (0, 0, 1, 0))).squeeze(3))
            return unskew(h, x.shape[3])

    class BiDiagonal(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.left_to_right, self.right_to_left = Diagonal(src.left_to_right), Diagonal(
                src.right_to_left)

        def forward(self, x, above=None):
            above = x if above is None else above
            mirrored = self.right_to_left(above.flip(3)).flip(3)
            return self.left_to_right(x) + F.pad(mirrored, (0, 0, 1, 0))[:, :, :x.shape[2]]

    class Residual(nn.Module):
        def __init__(self, src):
            super().__init__()
            self.lstm = (Row if type(src.lstm).__name__ == "RowLSTM" else BiDiagonal)(src.lstm)
            self.out = conv(src.out)

        def forward(self, x, *extra):
            return x + self.out(self.lstm(x, *extra))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.diagonal = model.variant == "diagonal"
            self.input_conv = conv(model.input_conv)
            if self.diagonal:
                self.input_conv_above = conv(model.input_conv_above)
            self.layers = nn.Sequential(*[Residual(layer) for layer in model.layers])
            self.hidden, self.output = conv(model.hidden), conv(model.output)

        def log_prob(self, x):
            h = self.input_conv(x)
            for k, layer in enumerate(self.layers):
                h = layer(h, self.input_conv_above(x)) if k == 0 and self.diagonal else layer(h)
            logits = self.output(self.hidden(h.relu()).relu())
            return -F.binary_cross_entropy_with_logits(logits, (x + 1) / 2,
                                                       reduction="none").sum((1, 2, 3))

    twin = Twin()
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in model.state_dict().items()})
    return twin


def main(args):
    import torch
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    dataset = datasets.load(args.data, "train")
    train = None
    result = {"data": args.data, "threads": threads, "blas": blas}
    rng = np.random.default_rng(0)
    for name in ("pixelrnn-row", "pixelrnn-diag"):
        mg.manual_seed(0)
        model = models.create(name, dataset)
        twin = torch_pixelrnn(torch, model)
        train = models.train_defaults(name, args.data)
        x = dataset.x[rng.integers(0, len(dataset.x), train["batch_size"])]
        xm, xt = mg.tensor(x), torch.from_numpy(x)
        ours, theirs = model.log_prob(xm), twin.log_prob(xt)
        ours.sum().backward()
        theirs.sum().backward()
        check_close(f"{name} log_prob", ours.numpy(), theirs.detach().numpy(), atol=1e-2)
        grads = dict(twin.named_parameters())
        for key, p in model.named_parameters():
            check_close(f"{name} gradient of {key}", p.grad.numpy(), grads[key].grad.numpy(),
                        rtol=1e-3, atol=1e-3)
        mg_opt = mg.optim.Adam(model.parameters(), train["lr"])
        th_opt = torch.optim.Adam(twin.parameters(), train["lr"])

        def mg_step():
            loss = model.loss(xm)
            mg_opt.zero_grad()
            loss.backward()
            mg_opt.step()

        def th_step():
            loss = -twin.log_prob(xt).mean()
            th_opt.zero_grad()
            loss.backward()
            th_opt.step()

        mg_step()                  # a second warm-up call of each (alternate makes one)
        th_step()
        result[name] = {"batch": train["batch_size"],
                        **bench.alternate((mg_step, th_step), args.repeats)}
    result["load_average"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(ARGS)
