"""Feature networks for the image metrics: small digit classifiers in the role of Inception.

FID, KID and precision/recall compare two sets of images through the features of a fixed network,
and the Inception Score and class accuracy read its class probabilities (lecture §1.7). For the
ImageNet-sized images of the papers that network is Inception-v3 (features: the 2048-d pool3
layer; probabilities: its softmax). For minigen's small grey digits a small convnet trained on the
dataset itself plays that role, as in the MNIST experiments of the GAN literature:

    image (1, H, W) in [-1, 1]
      -> blocks of  conv 3x3 (padding 1, no bias) -> BatchNorm2d -> ReLU [-> max_pool 2x2]
      -> flatten -> Linear -> BatchNorm1d -> ReLU      = features phi(x)  (the "pool3" layer)
      -> Dropout -> Linear                             = logits, p(y|x) = softmax(logits)

    mnist5k (1x28x28): channels 16, 32, 64, each block pooled (28 -> 14 -> 7 -> 3), 128 features
    digits  (1x8x8):   channels 32, 64, 64, the last two pooled (8 -> 4 -> 2), 64 features

The trained weights ship in minigen/metrics/weights/ (scripts/train_classifiers.py writes them),
together with the architecture and numbers measured when they were made (``model.info``):
test accuracy, and the real-vs-real floors of the metrics in this feature space:

    fid_floor   FID(phi(train split), phi(test split)): what two independent samples of the real
                data score; a model's FID reads against it, not against 0
    kid_floor   KID (mean over subsets) between the same two sets
    inception_score_test   IS of the whole test split as one set (splits=1), near the number
                of classes for a confident, accurate classifier

Public API (images are arrays (N, C, H, W) in [-1, 1], NumPy, CuPy or Tensors):

    load_classifier(dataset)   the classifier (an nn.Module in eval mode) for dataset
    for_dataset(dataset)       the same, or None when dataset has no classifier
    features(x, dataset)       (N, F) float64 NumPy array of features phi(x)
    class_probs(x, dataset)    (N, K) float64 NumPy array of p(y|x), rows summing to 1
    fid_floor(dataset), kid_floor(dataset)

Which datasets have a classifier: ``mnist5k`` and ``digits``, each its own, and the CycleGAN
targets ``mnist5k-inverted`` and ``mnist5k-bold``, each its own too (trained the same way; they
judge whether a translation into that domain kept the digit, lecture §5.4). No other name is
mapped to them, since a feature space only means something for images the network reads well:
``mnistm5k`` (colour) is not what the mnist5k network has seen (and DANN's point is that a
network trained on mnist5k reads it badly), and a folder ``mnist:PATH`` may hold Fashion-MNIST as
well as MNIST. For full MNIST, call ``load_classifier("mnist5k")`` explicitly and compute the
floor on your own splits with ``real_data_scores``.
"""
import functools
import os

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..creation import tensor as _tensor
from ..nn import BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear, Module, ModuleList
from ..nn import functional as F
from ..serialization import load as _load_file
from ..tensor import Tensor

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")

# dataset -> the classifier it is measured with (weights/<classifier>_classifier.npz); a dataset
# mapped to another's classifier gets its own floors stored by scripts/train_classifiers.py
CLASSIFIER_OF = {
    "mnist5k": "mnist5k",
    "digits": "digits",
    "mnist5k-inverted": "mnist5k-inverted",
    "mnist5k-bold": "mnist5k-bold",
    "mnistm5k": "mnistm5k",
}

# The architectures of the shipped classifiers; the weights files store theirs, so these are only
# the defaults of scripts/train_classifiers.py.
ARCHITECTURES = {
    "mnist5k": {"image_shape": [1, 28, 28], "channels": [16, 32, 64], "pool": [True, True, True],
                "feature_dim": 128, "num_classes": 10, "dropout": 0.3},
    "digits": {"image_shape": [1, 8, 8], "channels": [32, 64, 64], "pool": [False, True, True],
               "feature_dim": 64, "num_classes": 10, "dropout": 0.3},
}
ARCHITECTURES["mnist5k-inverted"] = ARCHITECTURES["mnist5k-bold"] = ARCHITECTURES["mnist5k"]
ARCHITECTURES["mnistm5k"] = dict(ARCHITECTURES["mnist5k"], image_shape=[3, 28, 28])

BATCH = 500  # images per forward pass in features() / class_probs()


class ConvBlock(Module):
    """conv 3x3 (padding 1) -> BatchNorm2d -> ReLU, then a 2x2 max pool when ``pool``. The conv has
    no bias: the BatchNorm that follows subtracts the mean, which would cancel it."""

    def __init__(self, in_channels, out_channels, pool):
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = BatchNorm2d(out_channels)
        self.pool = bool(pool)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return F.max_pool2d(x, 2) if self.pool else x

    def extra_repr(self):
        return f"pool={self.pool}"


class DigitClassifier(Module):
    """The feature network (see the module docstring). ``forward(x)`` gives logits (N, K) and
    ``forward_features(x)`` the features (N, F), both Tensors with gradients as usual;
    ``features(x)`` and ``class_probs(x)`` are the metric-side versions on plain arrays."""

    def __init__(self, image_shape, channels, pool, feature_dim, num_classes, dropout=0.0):
        super().__init__()
        if len(channels) != len(pool):
            raise ValueError(f"channels {channels} and pool {pool} must list one entry per block")
        self.image_shape = tuple(int(s) for s in image_shape)
        widths = [self.image_shape[0]] + list(channels)
        self.blocks = ModuleList([ConvBlock(widths[i], widths[i + 1], pool[i])
                                  for i in range(len(channels))])
        h, w = self.image_shape[1:]
        for p in pool:  # max_pool2d(2) floors odd sizes, as torch
            h, w = (h // 2, w // 2) if p else (h, w)
        self.fc = Linear(widths[-1] * h * w, feature_dim, bias=False)
        self.fc_bn = BatchNorm1d(feature_dim)
        self.dropout = Dropout(dropout)
        self.out = Linear(feature_dim, num_classes)
        self.dataset = None   # set by load_classifier: the dataset it was trained on
        self.info = {}        # set by load_classifier: the numbers stored with the weights

    def forward_features(self, x):
        for block in self.blocks:
            x = block(x)
        return F.relu(self.fc_bn(self.fc(x.flatten(1))))

    def forward(self, x):
        return self.out(self.dropout(self.forward_features(x)))

    # ------------------------------------------------------------------ metric side (arrays)
    def features(self, x, batch_size=BATCH):
        """phi(x) of images ``x`` (N, C, H, W) in [-1, 1]: float64 NumPy array (N, feature_dim)."""
        return self._run(self.forward_features, x, batch_size)

    def class_probs(self, x, batch_size=BATCH):
        """p(y|x) = softmax(logits) of images ``x``: a float64 NumPy array (N, num_classes)."""
        logits = self._run(self, x, batch_size)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))  # softmax in float64, stably
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, x, batch_size=BATCH):
        """The most probable class of each image: an int64 NumPy array (N,)."""
        return self._run(self, x, batch_size).argmax(axis=1)

    def _run(self, fn, x, batch_size):
        """fn on ``x`` in batches, in eval mode and without gradients, as one float64 array."""
        x = x.data if isinstance(x, Tensor) else x
        if getattr(x, "ndim", None) != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"the {self.dataset or 'digit'} classifier reads images of shape "
                             f"(N, {', '.join(map(str, self.image_shape))}) in [-1, 1], got an "
                             f"array of shape {getattr(x, 'shape', type(x).__name__)}")
        weight = self.out.weight
        was_training = self.training
        self.eval()  # BatchNorm must use its running statistics, Dropout must be off
        try:
            out = []
            with no_grad():
                for lo in range(0, x.shape[0], batch_size):
                    batch = backend.to_device(x[lo:lo + batch_size], weight.device)
                    batch = _tensor(batch.astype(weight.dtype, copy=False), device=weight.device)
                    out.append(backend.to_numpy(fn(batch).data).astype(np.float64))
        finally:
            self.train(was_training)
        if not out:
            return np.zeros((0, self.out.out_features if fn is self else self.fc.out_features))
        return np.concatenate(out)


def build(architecture):
    """A freshly initialized DigitClassifier from an architecture dict (see ARCHITECTURES)."""
    return DigitClassifier(**architecture)


def weights_path(name):
    """The path of the shipped weights file of classifier ``name`` (a value of CLASSIFIER_OF)."""
    return os.path.join(WEIGHTS_DIR, f"{name}_classifier.npz")


def _classifier_name(dataset):
    if not isinstance(dataset, str) or dataset not in CLASSIFIER_OF:
        raise ValueError(f"no feature classifier for dataset {dataset!r}; classifiers exist for "
                         f"{', '.join(sorted(CLASSIFIER_OF))} (see minigen/metrics/classifier.py "
                         f"for why other datasets are not mapped)")
    return CLASSIFIER_OF[dataset]


@functools.lru_cache(maxsize=None)
def _load_cached(name):
    path = weights_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"the weights of the {name!r} classifier are missing: {path!r}; "
                                f"run scripts/train_classifiers.py to make them")
    saved = _load_file(path)
    model = build(saved["architecture"])
    model.load_state_dict(saved["state_dict"])
    model.dataset = name
    model.info = saved["info"]
    return model.eval()


def load_classifier(dataset):
    """The trained feature classifier of ``dataset``, in eval mode (one shared instance per
    classifier: do not train it). ValueError names the valid datasets when there is none."""
    return _load_cached(_classifier_name(dataset))


def for_dataset(dataset):
    """load_classifier(dataset), or None when ``dataset`` has no classifier (the evaluator's hook:
    it skips the image metrics then)."""
    return load_classifier(dataset) if dataset in CLASSIFIER_OF else None


def features(x, dataset):
    """Features phi(x) (N, F), float64, of images ``x`` (N, C, H, W) in [-1, 1]."""
    return load_classifier(dataset).features(x)


def class_probs(x, dataset):
    """Class probabilities p(y|x) (N, K), float64, of images ``x`` (N, C, H, W) in [-1, 1]."""
    return load_classifier(dataset).class_probs(x)


def stored_floors(dataset):
    """The numbers stored for ``dataset`` with its classifier's weights (a dict with fid_floor,
    kid_floor, kid_floor_std, inception_score_test, test_accuracy, n_train, n_test)."""
    model = load_classifier(dataset)
    return dict(model.info["floors"][dataset])


def fid_floor(dataset):
    """The real-vs-real FID of ``dataset``: FID(phi(train split), phi(test split))."""
    return stored_floors(dataset)["fid_floor"]


def kid_floor(dataset):
    """The real-vs-real KID (mean over subsets) of ``dataset``, train split vs test split."""
    return stored_floors(dataset)["kid_floor"]


def real_data_scores(model, train_x, test_x, test_y):
    """The floors of one dataset in ``model``'s feature space (what stored_floors returns);
    scripts/train_classifiers.py stores them, the tests recompute them."""
    from .fid import fid_from_features
    from .kid import kernel_inception_distance
    from .scores import inception_score
    phi_train, phi_test = model.features(train_x), model.features(test_x)
    probs = model.class_probs(test_x)
    kid, kid_std = kernel_inception_distance(phi_train, phi_test)
    return {"fid_floor": fid_from_features(phi_train, phi_test),
            "kid_floor": kid, "kid_floor_std": kid_std,
            "inception_score_test": inception_score(probs, splits=1)[0],
            "test_accuracy": float(np.mean(probs.argmax(axis=1) == np.asarray(test_y))),
            "n_train": int(len(train_x)), "n_test": int(len(test_x))}
