"""Training, checkpoints, figures, evaluation: the machinery of ``minigen train/sample/evaluate``.

    from minigen.train import train, evaluate, load_run
    train("gaussian", data="ring8", steps=500, out="runs/g")   # config.json, checkpoint.npz,
                                                                #   loss.png, samples.png
    evaluate("runs/g")                                          # metrics.json
    model, config = load_run("runs/g")                          # trained model, EMA weights in

One loop (trainer.Trainer) trains every model family. What it asks of a model, and what the
evaluator and the figures ask of each capability (sampling, likelihood, latent variables,
translation, classification, growing), is the model contract, written once in
minigen/models/base.py. The run directory's files are listed in run.py.
"""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .evaluation import evaluate
from .run import RunError, load_run, read_config
from .runner import TrainingDiverged, default_out, train
from .trainer import Trainer, sampling

__all__ = ["train", "evaluate", "load_run", "read_config", "Trainer", "sampling", "RunError",
           "TrainingDiverged", "CheckpointError", "save_checkpoint", "load_checkpoint",
           "default_out"]
