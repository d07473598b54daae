"""The model contract: what every model the trainer drives is, and what each kind can do, declared.

THE CONTRACT (the one place it is written down). ``GenerativeModel`` is the base of every
registered model; the trainer, the evaluator and the command line talk to a model only through
the methods below. What a model *can do* beyond training is declared by mixing in a capability
class, and the trainer, evaluator and CLI ask ``isinstance(model, SamplingModel)`` and the like,
never ``hasattr``:

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
        progress line, the loss history and loss.png (a non-finite one stops the run).
        Default: ``loss(*batch)``, backward, clipping to ``max_grad_norm``, step.
    loss(x, y=None) -> scalar Tensor                         what the default training_step uses
    training_arrays(dataset) -> tuple of arrays with one first dimension, batched together
        default ``dataset.arrays()``; DANN batches source images, labels and target images.
    extra_metrics(test_dataset) -> {metric name: float}     default {}; evaluated under no_grad
        with the weights the run is evaluated with (e.g. cycle_error, target_accuracy)
    figures(run_dir, dataset) -> [file names written into run_dir]      default none; called at
        the end of training, in eval mode under no_grad, beside the figures of the capabilities
    ema_decay       None, or e.g. 0.999: the trainer keeps an EMA of ``ema_module()``'s weights;
                    sampling, evaluation and load_run use the averaged weights
    ema_module()    the sub-module the EMA averages (default: the whole model; a GAN its generator)
    max_grad_norm   None, or the norm the default training_step clips the gradient to
    validation_fraction   0 (default): no validation. f > 0: the trainer holds out that fraction
                    of the TRAIN split (never the test split), evaluates ``validation_loss`` on it
                    every few steps (logged and drawn in loss.png), and keeps the checkpoint with
                    the lowest value as checkpoint_best.npz beside the last one
    validation_loss(batch) -> float     the held-out measure, lower is better, the mean over the
                    batch's examples; default ``loss(*batch)``; likelihood models: the NLL in
                    nats, latent-variable models: -ELBO. Called in eval mode under no_grad with
                    the EMA weights and a private random stream (training is not disturbed)

  SamplingModel          draws new examples from noise (§2.4, §3.8, §4, §6)
    sample(n, y=None, **options) -> backend array (n, *example shape), in the data's scale
        called in eval mode under no_grad with a seeded random stream; ``options`` (DDPM's steps,
        guidance) come from ``minigen sample DIR --steps 50``. A loop of many network calls
        reports through ``progress(iterable, total, description)`` of this module.
    conditional     True when sample() uses the labels y (int64 Tensor (n,))
    sample_defaults() -> {option: value}   the options the end-of-training samples.png, evaluate
        and ``minigen sample`` use unless told otherwise: the model's best measured fast sampler
        (DDPM: DDIM-50 with eta = 1); ``--plain-sampler`` gives sample()'s own defaults
    describe_sampler(**options) -> str     what those options draw with, for the log
  LikelihoodModel        an exact (or dequantized) log-likelihood (§1, §2)
    log_prob(x) -> Tensor (N,), nats per example      (metrics nll_nats, bits_per_dim)
    continuous      True for a density over real values (the Gaussian): the evaluator then scores
                    the dequantized bound on discrete images
  LatentVariableModel    q(z|x) and p(x|z) with a bound on log p(x) (§3)
    encode(x) -> (mu, logvar);  decode(z) -> the decoder's output;  elbo(x) -> Tensor (N,);
    iwae(x, k) -> Tensor (N,), the importance-weighted bound with k samples;
    reconstruct(x) -> backend array of x's shape in the data's scale (reconstructions.png)
    (metrics elbo, iwae; nll_nats = -iwae when the model has no exact likelihood)
  AdversarialModel       two players (§4, §5): ``generator`` and ``discriminator`` sub-modules
                         (the critic for WGANs), trained by alternating steps; the EMA averages
                         the generator
  TranslationModel       maps images of one domain to another (§5.4)
    translate(x, direction) -> Tensor, direction one of ``directions`` ("AB": source to target)
    domain_examples(dataset, n) -> (x_a, x_b) arrays for translations.png (default: the first n
        test images of both domains of the pair ``dataset`` names)
  ClassifierModel        predicts labels (§5.5, domain adaptation); its metrics (target_accuracy
                         ...) are its extra_metrics, and it draws no samples
    predict(x) -> int64 backend array (N,) of class labels
  GrowingModel           changes shape in stages while training (ProGAN, §5.3)
    stage_at(step) -> int      the stage of training step ``step``: 0 at the start, never falling
    grow(stage)                build the modules of ``stage``; called for stage 1, 2, ... in order,
                               by the trainer when training reaches it and by load_run (and a
                               resume) before the weights are loaded
    stage_batch_size(stage, batch_size) -> int    the batch size of a stage (default unchanged)
    New parameters join the optimizers (as a new parameter group of the optimizer that
    ``configure_optimizers`` assigns them to, with the hyper-parameters of its first group) and
    the EMA; the loader starts a new epoch with the stage's batch size.

Every random number must come from minigen's generator (mg.randn, mg.rand, dropout ...) and the
model keeps no state outside its parameters and buffers; then checkpoints resume exactly.

Register a model in its file under minigen/models/ with ``@register(name, help=..., options=...,
train=...)`` (see minigen/models/__init__.py); the command line then lists and trains it. The
factory checks every option's value and raises ValueError with a sentence naming it.
``check_declared(model)`` (used by the registry test) raises when a declared capability lacks one
of its methods, or when a model implements a capability's methods without declaring it.
"""
import contextlib
import contextvars

from minigen import optim
from minigen.nn import Module


class GenerativeModel(Module):
    """A Module that the trainer knows how to train; see the module docstring for the contract."""

    ema_decay = None
    max_grad_norm = None
    validation_fraction = 0.0

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

        Returns a dict of float losses for the log, the progress line and loss.png.
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

    def figures(self, run_dir, dataset):
        """Pictures beyond those of the capabilities, written into ``run_dir``; their file names."""
        return []

    def validation_loss(self, batch):
        """The held-out measure on ``batch`` (lower is better), used when validation_fraction > 0."""
        return float(self.loss(*batch).item())


class Capability:
    """A mixin that declares one thing a model can do; ``methods`` must all be implemented and
    ``attributes`` must be sub-modules."""

    methods = ()
    attributes = ()


class SamplingModel(Capability):
    """Draws new examples: ``sample(n, y=None, **options)``; ``conditional`` when it uses y."""

    methods = ("sample",)
    conditional = False

    def sample(self, n, y=None):
        raise NotImplementedError(f"{type(self).__name__} must define sample(n, y=None)")

    def sample_defaults(self):
        """The options of the model's fast sampler, used unless the caller asks otherwise."""
        return {}

    def describe_sampler(self, **options):
        """One phrase for the log: what sample(**options) draws with."""
        given = ", ".join(f"{k}={v}" for k, v in options.items())
        return f"{type(self).__name__}.sample({given})"


class LikelihoodModel(Capability):
    """Gives ``log_prob(x)``, nats per example; ``continuous`` for a density over real values."""

    methods = ("log_prob",)
    continuous = False

    def log_prob(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define log_prob(x)")

    def validation_loss(self, batch):
        """The negative log-likelihood of the held-out batch, nats per example."""
        return -float(self.log_prob(batch[0]).mean().item())


class LatentVariableModel(Capability):
    """q(z|x), p(x|z) and the bounds: ``encode``, ``decode``, ``elbo``, ``iwae``, ``reconstruct``."""

    methods = ("encode", "decode", "elbo", "iwae", "reconstruct")

    def encode(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define encode(x) -> (mu, logvar)")

    def decode(self, z):
        raise NotImplementedError(f"{type(self).__name__} must define decode(z)")

    def elbo(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define elbo(x)")

    def iwae(self, x, k):
        raise NotImplementedError(f"{type(self).__name__} must define iwae(x, k)")

    def reconstruct(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define reconstruct(x)")

    def validation_loss(self, batch):
        """-ELBO of the held-out batch, nats per example."""
        return -float(self.elbo(batch[0]).mean().item())


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

    def domain_examples(self, dataset, n):
        """(x_a, x_b): the first ``n`` test images of the source and the target domain."""
        from minigen import data
        source, target = data.load_pair(dataset.name, "test", n=min(n, len(dataset)))
        return source.x, target.x


class ClassifierModel(Capability):
    """Predicts class labels: ``predict(x)`` -> int64 array (N,)."""

    methods = ("predict",)

    def predict(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define predict(x)")


class GrowingModel(Capability):
    """Grows in stages while training: ``stage_at(step)``, ``grow(stage)``, ``stage_batch_size``."""

    methods = ("stage_at", "grow")

    def stage_at(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define stage_at(step)")

    def grow(self, stage):
        raise NotImplementedError(f"{type(self).__name__} must define grow(stage)")

    def stage_batch_size(self, stage, batch_size):
        """The batch size of ``stage`` (default: the run's batch size throughout)."""
        return batch_size


CAPABILITIES = (SamplingModel, LikelihoodModel, LatentVariableModel, AdversarialModel,
                TranslationModel, ClassifierModel, GrowingModel)


def capabilities(model):
    """The capability classes ``model`` declares, in the order of CAPABILITIES."""
    return [c for c in CAPABILITIES if isinstance(model, c)]


def check_declared(model):
    """Raise TypeError when what ``model`` declares differs from what it implements."""
    name = type(model).__name__
    if not isinstance(model, GenerativeModel):
        raise TypeError(f"{name} is not a GenerativeModel; every registered model subclasses it")
    for capability in CAPABILITIES:
        own = [m for m in capability.methods
               if callable(getattr(type(model), m, None))
               and getattr(type(model), m) is not getattr(capability, m, None)]
        if isinstance(model, capability):
            missing = sorted(set(capability.methods) - set(own))
            missing += [a for a in capability.attributes
                        if not isinstance(getattr(model, a, None), Module)]
            if missing:
                raise TypeError(f"{name} declares {capability.__name__} but does not implement "
                                f"{', '.join(missing)}")
        elif capability.methods and len(own) == len(capability.methods):
            raise TypeError(f"{name} implements {', '.join(capability.methods)} but does not "
                            f"declare {capability.__name__}")


def grow_to(model, stage):
    """Grow a GrowingModel from stage 0 to ``stage`` (load_run, before loading the weights)."""
    for s in range(1, int(stage) + 1):
        model.grow(s)
    return model


# ------------------------------------------------------------------------- progress of long loops

_LISTENER = contextvars.ContextVar("minigen_progress_listener", default=None)


def progress(iterable, total, description):
    """Iterate over ``iterable`` (``total`` items), reporting each finished item to the listener
    that the caller installed with ``reporting_progress`` (the trainer, evaluate and ``minigen
    sample`` install one that prints a bar or plain lines); without one, just iterate.

        for t in progress(range(T - 1, -1, -1), T, "DDPM-1000"):
            x = step(x, t)
    """
    listener = _LISTENER.get()
    if listener is None:
        yield from iterable
        return
    with listener(total, description) as report:
        for item in iterable:
            yield item
            report()


@contextlib.contextmanager
def reporting_progress(listener):
    """Within the block, ``progress`` loops report to ``listener(total, description)``, a context
    manager that yields a function called once per finished item (None: report nothing)."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
