"""Device discipline without a GPU: the engine, the layers, the optimizers and one training step
of every registered model run on device="cuda" over a NumPy-backed stand-in for CuPy
(tests/fakecupy), whose arrays refuse implicit conversion to NumPy and mixing with NumPy arrays.
Every result must equal the CPU's (the random numbers are drawn on the host, so a seed gives the
same numbers on both devices); a stray np. call on device data, a host array in a device op or a
.numpy() inside a step raises here as it would on a GPU."""
import numpy as np
import pytest

import fakecupy
import minigen as mg
import minigen.nn.functional as F
from minigen import backend, models, nn
from minigen import data as datasets


@pytest.fixture
def cupy(monkeypatch):
    module = fakecupy.install()
    monkeypatch.setattr(backend, "_cupy", None)   # the next xp_for("cuda") imports the stand-in
    yield module
    backend._cupy = None
    fakecupy.uninstall()


def _host(value):
    """A result as a NumPy array, from either device (Tensors, arrays, numbers)."""
    if isinstance(value, mg.Tensor):
        value = value.data
    return backend.to_numpy(value) if backend.is_cupy_array(value) else np.asarray(value)


def _same(cpu, cuda, rtol=1e-6, atol=1e-7, what=""):
    np.testing.assert_allclose(_host(cuda), _host(cpu), rtol=rtol, atol=atol, err_msg=what)


# --------------------------------------------------------------------------- the stand-in itself
def test_the_stand_in_refuses_what_cupy_refuses(cupy):
    a = cupy.asarray(np.arange(6.0).reshape(2, 3))
    host = np.ones((2, 3))
    for attempt in (lambda: np.asarray(a), lambda: np.array(a), lambda: a + host,
                    lambda: host * a, lambda: np.add(a, host), lambda: cupy.exp(host),
                    lambda: np.concatenate([a, host]), lambda: a.__setitem__(slice(None), host),
                    lambda: host.__setitem__(slice(None), a)):
        with pytest.raises(TypeError):
            attempt()
    assert isinstance(np.exp(a), cupy.ndarray) and isinstance(np.stack([a, a]), cupy.ndarray)
    assert isinstance(a + 1.0, cupy.ndarray) and isinstance(a * np.float32(2), cupy.ndarray)
    assert isinstance(a.sum(), cupy.ndarray) and float(a.sum()) == 15.0
    np.testing.assert_array_equal(a.get(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(cupy.asnumpy(cupy.exp(a)), np.exp(np.arange(6.0)).reshape(2, 3))
    import cupyx.scipy.special as special
    assert isinstance(special.erf(a), cupy.ndarray)
    assert backend.xp_for("cuda") is cupy and backend.is_cupy_array(a)


# --------------------------------------------------------------------------- the engine
def _engine_function(x, w, idx, mask):
    """Many ops in one graph: elementwise, reductions, shapes, indexing, products."""
    h = (x @ w).tanh() * 2.0 - x[:, :2].sigmoid() / (x[:, 1:3].abs() + 1.0)
    h = h + (x[:, :2] ** 2 + 1).sqrt().log() + x[:, 1:].sin() * x[:, :2].cos()
    h = mg.cat([h, h.exp().clamp(max=5.0)], dim=1)                      # (4, 4)
    h = h.reshape(2, 8).permute(1, 0).reshape(4, 4)
    h = mg.where(mask, h, h.relu() * 0.5) + h[idx] + h[mask].sum() + mg.maximum(h, h.T)
    s = mg.softmax(h, dim=1) + mg.log_softmax(h, dim=0).exp() + h.unsqueeze(0).squeeze(0)
    s = s + mg.stack([h.amax(dim=1), h.var(dim=1), h.mean(dim=1), h.std(dim=1)], dim=1)
    s = s + mg.logsumexp(h, dim=1, keepdim=True) + sum(h.chunk(2, dim=1)).repeat(1, 2)
    s = s @ s.transpose(0, 1) + s.amin() * 0.1
    return (s * s).sum() + s.expand(2, 4, 4).sum(dim=(0, 1)).sum() + s.flatten().mean()


def _engine_inputs(device):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True, device=device)
    w = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True, device=device)
    idx = mg.tensor(np.array([3, 0, 2, 1]), device=device)
    mask = mg.tensor(rng.random((4, 4)) > 0.5, device=device)
    return x, w, idx, mask


def test_engine_ops_gradients_and_second_order_on_cuda_equal_the_cpus(cupy):
    results = []
    for device in ("cpu", "cuda"):
        x, w, idx, mask = _engine_inputs(device)
        y = _engine_function(x, w, idx, mask)
        gx, gw = mg.autograd.grad(y, (x, w), create_graph=True)
        (ggx,) = mg.autograd.grad((gx * gx).sum() + gw.sum(), x)
        assert y.device == device and gx.device == device and ggx.device == device
        results.append((y, gx, gw, ggx))
    for cpu, cuda, what in zip(*results, ("value", "grad x", "grad w", "second order")):
        _same(cpu, cuda, rtol=1e-9, atol=1e-10, what=what)


# --------------------------------------------------------------------------- layers
def _layers():
    return {
        "linear": (lambda: nn.Sequential(nn.Linear(6, 5), nn.GELU(), nn.Linear(5, 3)), (4, 6)),
        "conv": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.GroupNorm(2, 4),
                                       nn.SiLU(), nn.Conv2d(4, 3, 3, stride=2, padding=1),
                                       nn.BatchNorm2d(3), nn.LeakyReLU(0.1),
                                       nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1),
                                       nn.ELU(), nn.Upsample(scale_factor=2)), (2, 2, 6, 6)),
        "masked": (lambda: nn.Sequential(nn.MaskedConv2d(1, 4, 3, "A"), nn.ReLU(),
                                         nn.MaskedConv2d(4, 2, 3, "B"), nn.Softplus()),
                   (2, 1, 5, 5)),
        "lstm": (lambda: nn.LSTM(3, 4, num_layers=2, batch_first=True), (2, 5, 3)),
        "norms": (lambda: nn.Sequential(nn.LayerNorm(6), nn.Dropout(0.3), nn.Tanh(),
                                        nn.BatchNorm1d(6), nn.Sigmoid()), (5, 6)),
    }


def _run_layer(build, shape, device, seed=1):
    mg.manual_seed(0)
    layer = build().double()
    layer.to(device)
    x = mg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True,
                  device=device)
    mg.manual_seed(1)   # dropout's mask
    out = layer(x)
    out = out[0] if isinstance(out, tuple) else out
    (out * out).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    layer.eval()
    with mg.no_grad():
        evaluated = layer(x)
    evaluated = evaluated[0] if isinstance(evaluated, tuple) else evaluated
    return out, x.grad, grads, evaluated


@pytest.mark.parametrize("name", sorted(_layers()))
def test_layers_forward_backward_and_eval_on_cuda_equal_the_cpus(cupy, name):
    build, shape = _layers()[name]
    cpu, cuda = (_run_layer(build, shape, device) for device in ("cpu", "cuda"))
    _same(cpu[0], cuda[0], what="output")
    _same(cpu[1], cuda[1], what="input gradient")
    for i, (a, b) in enumerate(zip(cpu[2], cuda[2])):
        assert b.device == "cuda"
        _same(a, b, what=f"parameter gradient {i}")
    _same(cpu[3], cuda[3], what="eval output")


def test_functional_pieces_on_cuda(cupy):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((2, 3, 6, 6)), rng.integers(0, 3, (2, 6, 6))]
    table = rng.standard_normal((3, 2))
    out = []
    for device in ("cpu", "cuda"):
        x = mg.tensor(arrays[0], requires_grad=True, device=device)
        labels = mg.tensor(arrays[1], device=device)
        loss = (F.cross_entropy(x, labels) + F.max_pool2d(x, 2).sum() * 0.1
                + F.avg_pool2d(x, 3, stride=1).mean() + F.interpolate(x, scale_factor=2).std()
                + F.binary_cross_entropy_with_logits(x, x.detach().sigmoid())
                + F.mse_loss(x, x.detach() * 0.5) + F.l1_loss(x, x.detach().tanh())
                + F.pad(x, (1, 1, 2, 0)).sum() * 0.01
                + (F.one_hot(labels, 3).double() * x.permute(0, 2, 3, 1)).sum() * 0.1
                + F.embedding(labels, mg.tensor(table, device=device)).sum() * 0.1)
        loss.backward()
        out.append((loss, x.grad))
    _same(out[0][0], out[1][0], rtol=1e-9)
    _same(out[0][1], out[1][1], rtol=1e-9)


# --------------------------------------------------------------------------- optimizers
OPTIMIZERS = {
    "sgd": lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: mg.optim.Adam(p, lr=0.01, amsgrad=True),
    "adamw": lambda p: mg.optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: mg.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
}


def _train_a_little(make_optimizer, device):
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).to(device)
    optimizer = make_optimizer(net.parameters())
    scheduler = mg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    ema = mg.optim.EMA(net, 0.9)
    x = mg.tensor(np.random.default_rng(3).standard_normal((16, 3)), device=device)
    for _ in range(4):
        optimizer.zero_grad()
        loss = (net(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        loss.backward()
        mg.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        ema.update()
    state = optimizer.state_dict()
    return [p.data for p in net.parameters()], state, ema


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_schedulers_ema_and_clipping_on_cuda_equal_the_cpus(cupy, name):
    cpu, cuda = (_train_a_little(OPTIMIZERS[name], d) for d in ("cpu", "cuda"))
    for a, b in zip(cpu[0], cuda[0]):
        assert backend.is_cupy_array(b)
        _same(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(cpu[2].state_dict()["shadow_params"], cuda[2].state_dict()["shadow_params"]):
        assert backend.is_cupy_array(b)
        _same(a, b, rtol=1e-5, atol=1e-6)


def test_save_and_load_a_cuda_model(cupy, tmp_path):
    net = nn.Linear(3, 2).to("cuda")
    mg.save(net.state_dict(), tmp_path / "net.npz")
    state = mg.load(tmp_path / "net.npz", map_location="cuda")
    fresh = nn.Linear(3, 2).to("cuda")
    fresh.load_state_dict(state)
    for a, b in zip(net.parameters(), fresh.parameters()):
        assert backend.is_cupy_array(b.data)
        _same(a, b, rtol=0, atol=0)


# --------------------------------------------------------------------------- one step per model
SMALLEST_DATA = ("digits", "ring8", "mnist5k-inverted", "mnistm5k", "mnist5k")


def _model_and_data(name):
    for data in SMALLEST_DATA:
        try:
            return models.create(name, data), data
        except ValueError:
            continue
    raise AssertionError(f"model {name!r} builds on none of {SMALLEST_DATA}")


def _one_step(name, device, tmp_path):
    from minigen.train import Trainer, save_checkpoint
    mg.manual_seed(0)
    model, data = _model_and_data(name)
    dataset = datasets.load(data, "train")
    trainer = Trainer(model.to(device), dataset, batch_size=4, lr=1e-3, seed=0, device=device,
                      steps=2)
    losses = [trainer.train_step() for _ in range(2)]
    save_checkpoint(str(tmp_path / f"{name}-{device}.npz"), trainer.state_dict())
    model.eval()
    x = mg.tensor(dataset.x[:3], device=device)
    with mg.no_grad():    # the evaluation paths the model declares
        scores = {}
        if isinstance(model, models.LikelihoodModel):
            scores["log_prob"] = model.log_prob(x)
        if isinstance(model, models.LatentVariableModel):
            scores["elbo"] = model.elbo(x)
            scores["decoded"] = model.decode(model.encode(x)[0])
    return losses, [p.data for p in model.parameters()], scores


@pytest.mark.parametrize("name", models.names())
def test_every_registered_model_trains_on_cuda_as_on_the_cpu(cupy, name, tmp_path):
    cpu_losses, cpu_params, cpu_scores = _one_step(name, "cpu", tmp_path)
    cuda_losses, cuda_params, cuda_scores = _one_step(name, "cuda", tmp_path)
    for a, b in zip(cpu_losses, cuda_losses):
        assert a.keys() == b.keys()
        for key in a:
            assert isinstance(b[key], float), (key, type(b[key]))
            np.testing.assert_allclose(b[key], a[key], rtol=1e-4, atol=1e-6, err_msg=key)
    for a, b in zip(cpu_params, cuda_params):
        assert backend.is_cupy_array(b)
        _same(a, b, rtol=1e-3, atol=1e-5)
    for key in cpu_scores:
        assert cuda_scores[key].device == "cuda"
        _same(cpu_scores[key], cuda_scores[key], rtol=1e-3, atol=1e-4, what=key)


@pytest.mark.parametrize("name", ["gaussian"])
def test_train_and_evaluate_commands_on_cuda(cupy, name, tmp_path, capsys):
    """The product's own path: checkpoints, loss and sample plots, metrics from device samples
    (the Gaussian: its sampling is cheap; DDPM's samples.png costs 1,000 network calls)."""
    from minigen import cli
    out = str(tmp_path / "run")
    assert cli.main(["train", name, "--data", "ring8", "--steps", "3", "--device", "cuda",
                     "--out", out, "--quiet"]) == 0
    assert cli.main(["evaluate", out, "--n", "200", "--device", "cuda"]) == 0
    assert '"modes_covered"' in capsys.readouterr().out
