"""The model contract: what every model the trainer drives is, and what each kind can do, declared.

THE CONTRACT. ``GenerativeModel`` is the base of every registered model; the trainer, the
evaluator and the command line talk to a model only through the methods below. What a model *can
do* beyond training is declared by mixing in a capability class, never discovered by ``hasattr``:

    class PixelCNN(LikelihoodModel, SamplingModel, GenerativeModel): ...
    class DANN(ClassifierModel, GenerativeModel): ...

  GenerativeModel (every model)
    configure_optimizers(lr) -> {name: Optimizer}          one Adam over all parameters
    configure_schedulers(optimizers, steps) -> {name: LRScheduler}     none; stepped every step
    training_step(batch, optimizers, step) -> {loss name: float}
        ``batch`` is a tuple of Tensors on the training device (by default (x,) or (x, y); see
        ``training_arrays``); x float32 in the data's scale ((N, C, H, W) in [-1, 1], or (N, D)
        for 2-D toys), y int64 labels. The model does its own zero_grad / backward / step (so a
        GAN alternates its players, lecture §4.5); ``step`` counts from 0; the floats go to the
        progress bar, the loss history and loss.png. Default: ``loss(*batch)``, backward,
        clipping to ``max_grad_norm``, step.
    loss(x, y=None) -> scalar Tensor                         what the default training_step uses
    training_arrays(dataset) -> tuple of arrays with one first dimension, batched together
        default ``dataset.arrays()``; DANN batches source images, labels and target images.
    extra_metrics(test_dataset) -> {metric name: float}     default {}; evaluated under no_grad
    ema_decay       None, or e.g. 0.999: the trainer keeps an EMA of ``ema_module()``'s weights
                    and samples / evaluates with it
    ema_module()    the sub-module the EMA averages (default: the whole model; a GAN its generator)
    max_grad_norm   None, or the norm the default training_step clips the gradient to

  SamplingModel          draws new examples from noise (§2.4, §3.8, §4, §6)
    sample(n, y=None, **options) -> backend array (n, *example shape), in the data's scale
        called in eval mode under no_grad with a seeded random stream; ``options`` (DDPM's steps,
        guidance) come from ``minigen sample DIR --steps 50``.
    conditional     True when sample() uses the labels y (int64 Tensor (n,))
  LikelihoodModel        an exact (or dequantized) log-likelihood (§1, §2)
    log_prob(x) -> Tensor (N,), nats per example
    continuous      True for a density over real values (the Gaussian): the evaluator then scores
                    the dequantized bound on discrete images
  LatentVariableModel    q(z|x) and p(x|z) with a bound on log p(x) (§3)
    encode(x) -> (mu, logvar);  decode(z) -> the decoder's output;  elbo(x) -> Tensor (N,);
    iwae(x, k) -> Tensor (N,), the importance-weighted bound with k samples
  AdversarialModel       two players (§4, §5): ``generator`` and ``discriminator`` sub-modules
                         (the critic for WGANs), trained by alternating steps
  TranslationModel       maps images of one domain to another (§5.4)
    translate(x, direction) -> Tensor, direction one of ``directions`` (e.g. "AB", "BA")
  ClassifierModel        predicts labels (§5.5, domain adaptation)
    predict(x) -> int64 backend array (N,) of class labels

Every random number must come from minigen's generator (mg.randn, mg.rand, dropout ...) and the
model keeps no state outside its parameters and buffers; then checkpoints resume exactly.

Register a model in its file under minigen/models/ with ``@register(name, help=..., options=...,
train=...)`` (see minigen/models/__init__.py); the command line then lists and trains it.
``check_declared(model)`` (used by the registry test) raises when a declared capability lacks one
of its methods, or when a model implements a capability's methods without declaring it.
"""
from minigen import optim
from minigen.nn import Module


class GenerativeModel(Module):
    """A Module that the trainer knows how to train; see the module docstring for the contract."""

    ema_decay = None
    max_grad_norm = None

    def configure_optimizers(self, lr):
        """name -> Optimizer; one Adam over every parameter unless the model says otherwise."""
        return {"model": optim.Adam(self.parameters(), lr=lr)}

    def configure_schedulers(self, optimizers, steps):
        """name -> learning-rate scheduler, stepped once per training step (none by default)."""
        return {}

    def loss(self, x, y=None):
        raise NotImplementedError(f"{type(self).__name__} must define loss(x, y=None) or its "
                                  f"own training_step(batch, optimizers, step)")

    def training_step(self, batch, optimizers, step):
        """One optimization step on ``batch`` (a tuple (x,) or (x, y) of Tensors).

        Returns a dict of float losses for the log, the progress bar and loss.png.
        """
        if len(optimizers) != 1:
            raise RuntimeError(f"{type(self).__name__} has optimizers {sorted(optimizers)}; a "
                               f"model with several must define its own training_step")
        (optimizer,) = optimizers.values()
        loss = self.loss(*batch)
        optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            optim.clip_grad_norm_(self.parameters(), self.max_grad_norm)
        optimizer.step()
        return {"loss": loss.item()}

    def training_arrays(self, dataset):
        """The arrays the trainer batches together (default: the dataset's (x,) or (x, y))."""
        return dataset.arrays()

    def ema_module(self):
        """The module whose weights the trainer's EMA averages (default: the whole model)."""
        return self

    def extra_metrics(self, test):
        """Metrics beyond those the evaluator derives from the capabilities (default none)."""
        return {}


class Capability:
    """A mixin that declares one thing a model can do; ``methods`` must all be implemented."""

    methods = ()


class SamplingModel(Capability):
    """Draws new examples: ``sample(n, y=None, **options)``; ``conditional`` when it uses y."""

    methods = ("sample",)
    conditional = False

    def sample(self, n, y=None):
        raise NotImplementedError(f"{type(self).__name__} must define sample(n, y=None)")


class LikelihoodModel(Capability):
    """Gives ``log_prob(x)``, nats per example; ``continuous`` for a density over real values."""

    methods = ("log_prob",)
    continuous = False

    def log_prob(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define log_prob(x)")


class LatentVariableModel(Capability):
    """q(z|x), p(x|z) and the bounds: ``encode``, ``decode``, ``elbo``, ``iwae``."""

    methods = ("encode", "decode", "elbo", "iwae")

    def encode(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define encode(x) -> (mu, logvar)")

    def decode(self, z):
        raise NotImplementedError(f"{type(self).__name__} must define decode(z)")

    def elbo(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define elbo(x)")

    def iwae(self, x, k):
        raise NotImplementedError(f"{type(self).__name__} must define iwae(x, k)")


class AdversarialModel(Capability):
    """Two players as sub-modules ``generator`` and ``discriminator`` (the critic of a WGAN)."""

    attributes = ("generator", "discriminator")

    def ema_module(self):
        return self.generator


class TranslationModel(Capability):
    """Maps images between domains: ``translate(x, direction)``, direction in ``directions``."""

    methods = ("translate",)
    directions = ("AB", "BA")

    def translate(self, x, direction):
        raise NotImplementedError(f"{type(self).__name__} must define translate(x, direction)")


class ClassifierModel(Capability):
    """Predicts class labels: ``predict(x)`` -> int64 array (N,)."""

    methods = ("predict",)

    def predict(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define predict(x)")


CAPABILITIES = (SamplingModel, LikelihoodModel, LatentVariableModel, AdversarialModel,
                TranslationModel, ClassifierModel)


def capabilities(model):
    """The capability classes ``model`` declares, in the order of CAPABILITIES."""
    return [c for c in CAPABILITIES if isinstance(model, c)]


def check_declared(model):
    """Raise TypeError when what ``model`` declares differs from what it implements."""
    name = type(model).__name__
    for capability in CAPABILITIES:
        own = [m for m in capability.methods
               if callable(getattr(type(model), m, None))
               and getattr(type(model), m) is not getattr(capability, m, None)]
        if isinstance(model, capability):
            missing = sorted(set(capability.methods) - set(own))
            missing += [a for a in getattr(capability, "attributes", ())
                        if not isinstance(getattr(model, a, None), Module)]
            if missing:
                raise TypeError(f"{name} declares {capability.__name__} but does not implement "
                                f"{', '.join(missing)}")
        elif capability.methods and len(own) == len(capability.methods):
            raise TypeError(f"{name} implements {', '.join(capability.methods)} but does not "
                            f"declare {capability.__name__}")
