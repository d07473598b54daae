"""DataLoader: batches of NumPy arrays, shuffled reproducibly, resumable mid-epoch.

The order of epoch e is a permutation drawn from numpy.random.default_rng([seed, e]): it depends
only on the seed and the epoch number, not on what ran before. So a loader is fully described by
(seed, epoch, position), where position counts the batches of the current epoch already handed
out; ``state_dict()`` saves exactly that and ``load_state_dict()`` continues from it, so a training
run resumed from a checkpoint sees the same batches as one that never stopped.

A loader is one cursor: iterating it advances its own state (like a file), and breaking out of a
loop and iterating again continues where it stopped.

    loader = DataLoader(dataset, batch_size=64, seed=0)
    for x, y in loader:          # one epoch, or what is left of it
        ...
    for step, (x, y) in zip(range(1000), loader.forever()):   # step-based training
        ...
"""
import math

import numpy as np

from minigen.backend import check_device, to_device
from .dataset import Dataset


class DataLoader:
    """Iterate over batches of a Dataset (x, y) or of any arrays sharing their first dimension.

    Yields tuples of arrays on ``device`` ((x, y) for a labelled Dataset, (x,) for an unlabelled
    one). ``len(loader)`` is the number of batches in one epoch.
    """

    def __init__(self, data, batch_size=64, shuffle=True, drop_last=False, seed=0, device="cpu"):
        self.arrays = self._as_arrays(data)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.num_examples = len(self.arrays[0])
        if self.num_examples == 0:
            raise ValueError("cannot make a DataLoader over 0 examples")
        if drop_last and batch_size > self.num_examples:
            raise ValueError(f"drop_last=True with batch_size {batch_size} > {self.num_examples} "
                             f"examples would give no batch at all")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.device = check_device(device)
        self.epoch = 0
        self.position = 0

    @staticmethod
    def _as_arrays(data):
        if isinstance(data, Dataset):
            return data.arrays()
        arrays = tuple(data) if isinstance(data, (tuple, list)) else (data,)
        arrays = tuple(np.asarray(a) for a in arrays)
        if not arrays or any(a.ndim == 0 for a in arrays):
            raise ValueError("DataLoader needs a Dataset or one or more arrays with a first "
                             "(example) dimension")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"arrays given to DataLoader have different numbers of examples: "
                             f"{lengths}")
        return arrays

    def __len__(self):
        if self.drop_last:
            return self.num_examples // self.batch_size
        return math.ceil(self.num_examples / self.batch_size)

    def order(self, epoch):
        """The order in which epoch ``epoch`` visits the examples."""
        if not self.shuffle:
            return np.arange(self.num_examples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)

    def __iter__(self):
        """The remaining batches of the current epoch; the next iteration starts the next epoch."""
        if self.position >= len(self):
            self.epoch, self.position = self.epoch + 1, 0
        order = self.order(self.epoch)
        while self.position < len(self):
            start = self.position * self.batch_size
            index = order[start:start + self.batch_size]
            # Count the batch as handed out before yielding it: a state_dict taken while the
            # caller trains on it resumes with the next one.
            self.position += 1
            yield tuple(to_device(a[index], self.device) for a in self.arrays)
        self.epoch, self.position = self.epoch + 1, 0

    def forever(self):
        """Batches without end, epoch after epoch."""
        while True:
            yield from self

    def state_dict(self):
        """Everything needed to continue exactly here (plain ints, so any checkpoint can hold it)."""
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position,
                "batch_size": self.batch_size, "num_examples": self.num_examples,
                "shuffle": int(self.shuffle), "drop_last": int(self.drop_last)}

    def load_state_dict(self, state):
        """Continue from a ``state_dict()``; the data and batching must match the saved ones."""
        for key in ("batch_size", "num_examples", "shuffle", "drop_last"):
            if key in state and int(state[key]) != int(getattr(self, key)):
                raise ValueError(f"cannot resume: the saved loader had {key}={int(state[key])}, "
                                 f"this one has {key}={int(getattr(self, key))}")
        position = int(state["position"])
        if not 0 <= position <= len(self):
            raise ValueError(f"cannot resume: saved position {position} is outside the "
                             f"{len(self)} batches of an epoch")
        self.seed, self.epoch, self.position = int(state["seed"]), int(state["epoch"]), position

    def __repr__(self):
        return (f"DataLoader(n={self.num_examples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"device={self.device!r}, epoch={self.epoch}, position={self.position})")
