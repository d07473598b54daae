"""Checkpoint files of training runs: ``mg.save`` / ``mg.load``, with errors the CLI can show.

The training state is a tree (model and optimizer state_dicts, EMA shadows, the loader position,
the random generator's state, the loss history), which ``mg.save`` stores in one .npz without
pickle and atomically (temporary file + os.replace), so a run killed mid-write keeps its previous
checkpoint. Here a missing or damaged file becomes a CheckpointError with one sentence.
"""
import os

import minigen as mg


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or not a minigen checkpoint."""


def save_checkpoint(path, tree):
    """Write ``tree`` to ``path`` atomically (see mg.save)."""
    mg.save(tree, path)
    return path


def load_checkpoint(path, device="cpu"):
    """Read a tree written by ``save_checkpoint``, with Tensors on ``device``."""
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return mg.load(path, map_location=device)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} is damaged or not a minigen checkpoint") from exc
