"""Training, checkpoints, plots, evaluation: the machinery of ``minigen train/sample/evaluate``.

    from minigen.train import train, evaluate, load_run
    train("gaussian", data="ring8", steps=500, out="runs/g")   # config.json, checkpoint.npz,
                                                                #   loss.png, samples.png
    evaluate("runs/g")                                          # metrics.json
    model, config = load_run("runs/g")                          # trained model, EMA weights in

THE TRAINING CONTRACT. One loop (trainer.Trainer) trains every model family. A model is an
``nn.Module`` with these methods (``minigen.models.GenerativeModel`` gives the defaults marked *):

  configure_optimizers(lr) -> {name: Optimizer}                                         *
      * one Adam over all parameters. A GAN returns {"generator": ..., "discriminator": ...}.
  configure_schedulers(optimizers, steps) -> {name: LRScheduler}                        *
      * none. Each scheduler is stepped once after every training step; ``steps`` is the total.
  training_step(batch, optimizers, step) -> {loss name: float}                          *
      ``batch`` is (x,) or (x, y): Tensors on the training device, x float32 in the data's scale
      ((N, C, H, W) in [-1, 1], or (N, D) for 2-D toys), y int64 labels. The model does its own
      zero_grad / backward / step, so a GAN can alternate its optimizers and take n_critic
      discriminator steps per generator step (lecture §4.5). ``step`` counts from 0. The floats
      returned go to the progress bar, the loss history and loss.png.
      * ``loss = self.loss(*batch)``, backward, optional clipping to ``max_grad_norm``, step;
        returns {"loss": loss.item()}. A one-loss model only writes ``loss(x, y=None)``.
  sample(n, y=None, **options) -> backend array (n, *example shape), in the data's scale
      ``y``: None or an int64 Tensor (n,) of class labels (conditional models). The trainer and
      the evaluator call it in eval mode under no_grad with a seeded random stream. Extra keyword
      options (e.g. DDPM's steps, guidance) are passed through by ``minigen sample DIR --steps 50``.
  Attributes (class or instance):
      ema_decay    None or e.g. 0.999: the trainer keeps mg.optim.EMA(model, ema_decay), saves
                   it, and samples/evaluates with the averaged weights
      conditional  True when sample() uses labels (samples.png gets one row per class)
      continuous   True for a density over real values (see evaluation.py)
  Optional hooks, used when they exist:
      training_arrays(train_dataset) -> tuple of arrays with a common first dimension, batched
          instead of (x, y) (e.g. DANN: source images, source labels, target images)
      log_prob(x) -> Tensor (N,) in nats;  elbo(x) -> Tensor (N,)     (evaluation)
      extra_metrics(test_dataset) -> {metric name: float} (e.g. cycle_error, target_accuracy)

Every random number must come from minigen's generator (mg.randn, mg.rand, dropout ...) and the
model must keep no state outside its parameters and buffers; then checkpoints resume exactly.

Register the model in its file under minigen/models/ with ``@register(name, help=..., options=...,
train=...)`` (see minigen/models/__init__.py); the command line then lists and trains it.
"""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .evaluation import evaluate
from .run import RunError, load_run, read_config
from .runner import default_out, train
from .trainer import Trainer, sampling

__all__ = ["train", "evaluate", "load_run", "read_config", "Trainer", "sampling", "RunError",
           "CheckpointError", "save_checkpoint", "load_checkpoint", "default_out"]
