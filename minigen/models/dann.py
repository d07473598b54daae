"""Domain-adversarial training of neural networks, DANN (lecture §5.5; Ganin and Lempitsky 2015).

Labelled images x_s of a source domain (mnist5k), unlabelled images x_t of a target domain
(mnistm5k: the same kind of digits on colour textures). Three networks:

    G_f   feature extractor   x -> f          (two conv + max-pool blocks)
    G_y   label predictor     f -> 10 logits  (trained on the source only)
    G_d   domain classifier   f -> 1 logit    (source = 1, target = 0)

and the saddle point

    E(theta_f, theta_y, theta_d) = L_y(G_y(G_f(x_s)), y_s) - lambda L_d(G_d(G_f(x)), d)
    (theta_f, theta_y) = argmin E,   theta_d = argmax E

(L_y cross-entropy, L_d binary cross-entropy over source and target images together). G_d
minimizes L_d as usual; G_f must *maximize* it, i.e. make features from which the domain cannot
be told. Both happen in one backward pass with the gradient reversal R_lambda between G_f and G_d
(minigen/ops/reversal.py: identity forward, -lambda times the gradient backward):

    loss = L_y(G_y(G_f(x_s)), y_s) + L_d(G_d(R_lambda(G_f(x))), d)

lambda follows the paper's schedule over the training progress p = step / steps in [0, 1],

    lambda_p = 2 / (1 + exp(-10 p)) - 1       (0 at the start, when the features are still noise;
                                               -> 1)

and the learning rate anneals as mu_p = mu_0 / (1 + 10 p)^0.75 (SGD with momentum 0.9).

The labels of the target domain are never used in training: ``training_arrays`` hands the trainer
source images, source labels and target images only. The target images are re-indexed by a
random derangement, since example i of the stored pair is the same digit in both domains.

The same run trains a *source-only* baseline: the same G_f and G_y architecture, the same
batches, optimizer and number of steps, without G_d. ``evaluate`` reports both on the target test
split (target_accuracy, source_only_accuracy), the source accuracy, and domain_accuracy, the
accuracy of G_d on the test splits (0.5: the features do not tell the domains apart).
"""
import math
import os

import numpy as np

import minigen as mg
import minigen.nn.functional as F
from minigen import backend, data, optim
from minigen.nn import Conv2d, Linear, Module, ReLU, Sequential
from minigen.ops.reversal import gradient_reversal

from . import register
from .base import ClassifierModel, GenerativeModel

UNPAIRED_SEED = 55   # the lecture's slide of domain adaptation
FEATURES = "features.png"


def derangement(n, seed=UNPAIRED_SEED):
    """A permutation sigma of 0..n-1 with sigma(i) != i for every i, from a seeded generator:
    index target (or second-domain) images by it, and example i of a stored pair is never shown
    beside its own counterpart."""
    if n < 2:
        raise ValueError(f"a derangement needs at least 2 elements, got n={n}")
    rng = np.random.default_rng(seed)
    sigma = rng.permutation(n)
    for i in range(n):
        if sigma[i] == i:  # swap with a neighbour: neither is fixed afterwards (sigma[j] != i)
            j = (i + 1) % n
            sigma[i], sigma[j] = sigma[j], sigma[i]
    return sigma


def reversal_weight(p, gamma=10.0):
    """lambda_p = 2 / (1 + exp(-gamma p)) - 1 at training progress p in [0, 1]."""
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


class FeatureExtractor(Module):
    """G_f: conv 5x5 -> ReLU -> max-pool 2 -> conv 5x5 -> ReLU -> max-pool 2 -> flatten."""

    def __init__(self, in_channels, image_size, channels=(32, 48)):
        super().__init__()
        c1, c2 = channels
        self.conv1, self.conv2 = Conv2d(in_channels, c1, 5), Conv2d(c1, c2, 5)
        side = ((image_size - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"the DANN feature extractor needs images of at least 16x16, got "
                             f"{image_size}x{image_size}")
        self.out_features = c2 * side * side

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)


def mlp(sizes):
    """Linear -> ReLU -> ... -> Linear through the widths ``sizes``."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


class Classifier(Module):
    """G_y(G_f(x)): the network both DANN and the source-only baseline train."""

    def __init__(self, in_channels, image_size, num_classes, channels, hidden):
        super().__init__()
        self.features = FeatureExtractor(in_channels, image_size, channels)
        self.label = mlp([self.features.out_features, hidden, hidden, num_classes])

    def forward(self, x):
        return self.label(self.features(x))


class DANN(ClassifierModel, GenerativeModel):
    """Domain-adversarial classifier (``adapted``) and its source-only twin (``source_only``)."""

    def __init__(self, shape, num_classes=10, channels=(32, 48), hidden=100, domain_hidden=100,
                 lambda_max=1.0, gamma=10.0, momentum=0.9):
        super().__init__()
        c, h, w = shape
        if h != w:
            raise ValueError(f"DANN expects square images, got {h}x{w}")
        self.shape = tuple(shape)
        self.adapted = Classifier(c, h, num_classes, channels, hidden)
        self.domain = mlp([self.adapted.features.out_features, domain_hidden, 1])
        self.source_only = Classifier(c, h, num_classes, channels, hidden)
        self.lambda_max, self.gamma, self.momentum = float(lambda_max), float(gamma), momentum
        self.total_steps = None     # set by configure_schedulers: progress p = step / total_steps

    # ------------------------------------------------------------------ training
    def training_arrays(self, dataset):
        source, target = pair_of(dataset)
        return source.x, source.y, target.x[derangement(len(target.x))]

    def configure_optimizers(self, lr):
        dann = [p for m in (self.adapted, self.domain) for p in m.parameters()]
        return {"dann": optim.SGD(dann, lr=lr, momentum=self.momentum),
                "source_only": optim.SGD(self.source_only.parameters(), lr=lr,
                                         momentum=self.momentum)}

    def configure_schedulers(self, optimizers, steps):
        self.total_steps = steps
        return {name: optim.lr_scheduler.LambdaLR(o, self._lr_factor)
                for name, o in optimizers.items()}

    def progress(self, step):
        """Training progress p = step / steps in [0, 1]."""
        if not self.total_steps:
            return 1.0
        return min(1.0, step / self.total_steps)

    def _lr_factor(self, step):
        return (1.0 + 10.0 * self.progress(step)) ** -0.75

    def domain_logits(self, features, lambd):
        """G_d(R_lambda(f)): an ordinary classifier forward, a reversed gradient into G_f."""
        return self.domain(gradient_reversal(features, lambd)).reshape(-1)

    def training_step(self, batch, optimizers, step):
        x_s, y_s, x_t = batch
        lambd = self.lambda_max * reversal_weight(self.progress(step), self.gamma)
        f = self.adapted.features(mg.cat([x_s, x_t]))
        n = x_s.shape[0]
        label_loss = F.cross_entropy(self.adapted.label(f[:n]), y_s)
        d = mg.cat([mg.ones(n, device=f.device), mg.zeros(x_t.shape[0], device=f.device)])
        logits = self.domain_logits(f, lambd)
        domain_loss = F.binary_cross_entropy_with_logits(logits, d)
        _step(optimizers["dann"], label_loss + domain_loss)
        baseline_loss = F.cross_entropy(self.source_only(x_s), y_s)
        _step(optimizers["source_only"], baseline_loss)
        correct = backend.to_numpy((logits.data > 0) == (d.data > 0.5))
        return {"label": label_loss.item(), "domain": domain_loss.item(),
                "domain_accuracy": float(correct.mean()), "source_only": baseline_loss.item(),
                "lambda": lambd}

    # ------------------------------------------------------------------ the capability
    def predict(self, x):
        return self.adapted(x).data.argmax(axis=1)

    def domain_accuracy(self, source_x, target_x):
        """Balanced accuracy of G_d telling source (logit > 0) from target images."""
        hits = []
        for x, is_source in ((source_x, True), (target_x, False)):
            logits = batched(lambda t: self.domain(self.adapted.features(t)).data.reshape(-1), x,
                             self)
            hits.append(np.mean((logits > 0) == is_source))
        return float(np.mean(hits))

    def extra_metrics(self, test):
        source, target = pair_of(test)
        def accuracy(net, split):
            return float(np.mean(batched(lambda t: net(t).data.argmax(1), split.x, self)
                                 == split.y))
        return {"target_accuracy": accuracy(self.adapted, target),
                "source_accuracy": accuracy(self.adapted, source),
                "source_only_accuracy": accuracy(self.source_only, target),
                "source_only_source_accuracy": accuracy(self.source_only, source),
                "domain_accuracy": self.domain_accuracy(source.x, target.x)}

    def figures(self, run_dir, dataset):
        """features.png: PCA of G_f features of test images of both domains, before (the
        source-only network) and after adaptation."""
        source, target = data.load_pair(dataset.name, "test")
        plot_feature_pca(self, source.x, target.x, os.path.join(run_dir, FEATURES))
        return [FEATURES]

    def features(self, x, adapted=True):
        """G_f(x) of the DANN network (or of the source-only baseline) as a NumPy array."""
        net = self.adapted if adapted else self.source_only
        return batched(lambda t: net.features(t).data, x, self)


def _step(optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def batched(fn, x, module, size=500):
    """fn on chunks of the NumPy array ``x`` (as Tensors on ``module``'s device) in eval mode
    and without gradients, concatenated as one NumPy array."""
    device = next(iter(module.parameters())).device
    was_training = module.training
    module.eval()
    out = []
    try:
        with mg.no_grad():
            for lo in range(0, len(x), size):
                out.append(backend.to_numpy(fn(mg.tensor(x[lo:lo + size], device=device))))
    finally:
        module.train(was_training)
    return np.concatenate(out)


def pair_of(dataset):
    """(source, target) of the split of a domain pair that ``dataset`` is the target of."""
    if dataset.pair_of is None:
        raise ValueError(f"DANN trains on a domain pair (source mnist5k, target e.g. mnistm5k); "
                         f"dataset {dataset.name!r} is not the target of a pair")
    return data.load_pair(dataset.name, dataset.split)


def pca_2d(*feature_sets):
    """The features of all sets projected on the first two principal axes of all of them
    together: one (n_i, 2) array per set."""
    joined = np.concatenate(feature_sets).astype(np.float64)
    mean = joined.mean(axis=0)
    _, _, vt = np.linalg.svd(joined - mean, full_matrices=False)
    return [(f - mean) @ vt[:2].T for f in feature_sets]


def plot_feature_pca(model, source_x, target_x, path):
    """Two panels: 2-D PCA of G_f features of source and target images, without adaptation (the
    source-only network) and with it (DANN); with DANN the two clouds should overlap."""
    from minigen.train.plots import _figure
    figure = _figure(10, 4.8)
    for k, (adapted, title) in enumerate([(False, "source only (no adaptation)"),
                                          (True, "DANN (adapted)")]):
        s, t = pca_2d(model.features(source_x, adapted), model.features(target_x, adapted))
        ax = figure.add_subplot(1, 2, k + 1)
        ax.scatter(s[:, 0], s[:, 1], s=4, alpha=0.5, color="tab:blue", label="source")
        ax.scatter(t[:, 0], t[:, 1], s=4, alpha=0.5, color="tab:red", label="target")
        ax.set_title(f"G_f features, {title}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="upper right", markerscale=3)
    figure.tight_layout()
    figure.savefig(path)
    return path


OPTIONS = {
    "channels": ((32, 48), "channels of G_f's two 5x5 convolutions", (1, 512)),
    "hidden": (100, "width of G_y's two hidden layers", (1, 8192)),
    "domain_hidden": (100, "width of G_d's hidden layer", (1, 8192)),
    "lambda_max": (1.0, "scale of the reversal weight: lambda = lambda_max * lambda_p"),
    "gamma": (10.0, "steepness of lambda_p = 2 / (1 + exp(-gamma p)) - 1"),
    "momentum": (0.9, "SGD momentum (both networks)"),
}


@register("dann", help="domain-adversarial classifier with gradient reversal, and its "
                       "source-only baseline (§5.5)",
          options=OPTIONS, train={"steps": 1500, "batch_size": 64, "lr": 0.01})
def build(dataset, channels, hidden, domain_hidden, lambda_max, gamma, momentum):
    if dataset.pair_of is None or not dataset.is_image:
        raise ValueError(f"dann trains on a domain pair; dataset {dataset.name!r} is not one "
                         f"(use --data mnistm5k, or another pair: {', '.join(data.domains.DOMAINS)})")
    if len(channels) != 2 or min(channels) < 1:
        raise ValueError(f"channels must be two positive numbers (G_f's two convolutions), got "
                         f"{channels}")
    for name, value in (("hidden", hidden), ("domain_hidden", domain_hidden)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if not lambda_max >= 0 or not gamma > 0 or not 0 <= momentum < 1:
        raise ValueError(f"need lambda_max >= 0, gamma > 0 and 0 <= momentum < 1; got "
                         f"lambda_max={lambda_max}, gamma={gamma}, momentum={momentum}")
    return DANN(dataset.shape, dataset.num_classes, tuple(channels), hidden, domain_hidden,
                lambda_max, gamma, momentum)
