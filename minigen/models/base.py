"""GenerativeModel: the base class that gives every model the training contract's defaults.

The trainer (minigen/train) drives any model through a handful of methods; this base class
implements them for the common case of one loss and one optimizer, so such a model only writes

    def loss(self, x, y=None):        # a scalar Tensor to minimize on one batch
    def sample(self, n, y=None):      # n samples as a backend array, in the data's scale

Models with several optimizers (GANs alternate the discriminator and the generator, lecture §4.5)
override ``configure_optimizers`` and ``training_step`` instead. The full contract is written out
in minigen/train/__init__.py.
"""
from minigen import optim
from minigen.nn import Module


class GenerativeModel(Module):
    """A Module that the trainer knows how to train, sample and evaluate.

    Class attributes a model may set:
      ema_decay      None, or e.g. 0.999: the trainer keeps an exponential moving average of the
                     weights and samples/evaluates with it (DDPM, GANs)
      conditional    True when ``sample(n, y)`` draws class-conditional samples
      max_grad_norm  None, or the norm that the default training_step clips the gradient to
      continuous     True when ``log_prob`` is a density over real values (the Gaussian) rather
                     than a probability of discrete pixel levels (PixelCNN); the evaluator then
                     reports the dequantized bound on discrete images
    """

    ema_decay = None
    conditional = False
    max_grad_norm = None
    continuous = False

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

    def sample(self, n, y=None):
        raise NotImplementedError(f"{type(self).__name__} must define sample(n, y=None)")
