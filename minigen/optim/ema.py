"""EMA: an exponential moving average of parameters, for sampling with averaged weights.

DDPM (lecture §6.1; Ho et al. 2020) samples with an EMA of the network's weights (decay 0.9999),
which gives visibly better samples than the last iterate. After each optimizer step,

    shadow <- decay * shadow + (1 - decay) * param

for every parameter. With ``use_num_updates=True`` the decay warms up as

    decay_n = min(decay, (1 + n) / (10 + n))      (n = number of updates so far, counting this one)

so that the average forgets its random initialisation quickly early in training (the rule of
TensorFlow's ExponentialMovingAverage(num_updates=...) and of the torch_ema package).

    ema = mg.optim.EMA(model, decay=0.999)
    for x in loader:
        loss.backward(); opt.step(); ema.update()
    with ema.average_parameters():        # model holds the EMA weights inside the block
        samples = model.sample(64)
"""
import contextlib

from .. import backend
from ..tensor import Tensor


def _param_list(parameters):
    """A list of Tensors from an iterable of Tensors or anything with a ``parameters()`` method."""
    if isinstance(parameters, Tensor):
        return [parameters]
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"EMA averages Tensors, but parameter {i} is a {type(p).__name__}")
        if p.dtype.kind != "f":
            raise TypeError(f"EMA averages floating point tensors, but parameter {i} "
                            f"(shape {p.shape}) has dtype {p.dtype}")
    return params


def _write(p, array):
    """Copy ``array`` into parameter ``p`` in place, so that other references see the change."""
    if backend.is_writable(p.data) and p.data.shape == array.shape:
        p.data[...] = array
    else:
        p.data = array.copy()


class EMA:
    """Exponential moving average of ``parameters`` (an iterable of Tensors, or a module).

    Args:
        parameters: the Tensors to average, or an object with ``.parameters()``; the list is taken
            once, at construction, and later calls pair shadows with parameters by position.
        decay: the weight of the old average, 0 <= decay <= 1 (0.999 = a window of ~1000 steps).
        use_num_updates: warm the decay up as min(decay, (1 + n) / (10 + n)).
    """

    def __init__(self, parameters, decay=0.999, use_num_updates=False):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"Invalid decay value: {decay} (expected 0 <= decay <= 1)")
        self.decay = decay
        self.use_num_updates = use_num_updates
        self.num_updates = 0
        self._params = _param_list(parameters)
        self.shadow_params = [p.data.copy() for p in self._params]
        self.collected_params = None

    def _resolve(self, parameters):
        if parameters is None:
            return self._params
        params = _param_list(parameters)
        if len(params) != len(self.shadow_params):
            raise ValueError(f"EMA holds {len(self.shadow_params)} averaged parameters, but "
                             f"{len(params)} parameters were given")
        return params

    def current_decay(self):
        """The decay that the next ``update()`` will use."""
        if self.use_num_updates:
            n = self.num_updates + 1
            return min(self.decay, (1 + n) / (10 + n))
        return self.decay

    def update(self, parameters=None):
        """shadow <- decay * shadow + (1 - decay) * param, for every parameter."""
        weight = 1.0 - self.current_decay()
        self.num_updates += 1
        for shadow, p in zip(self.shadow_params, self._resolve(parameters)):
            if shadow.shape != p.data.shape:
                raise ValueError(f"EMA: a parameter changed shape from {shadow.shape} to "
                                 f"{p.data.shape} since the EMA was created")
            # the same as decay * shadow + (1 - decay) * param, written as a step toward param
            shadow += weight * (p.data - shadow)

    def copy_to(self, parameters=None):
        """Write the averaged values into the parameters (in place)."""
        for shadow, p in zip(self.shadow_params, self._resolve(parameters)):
            _write(p, shadow)

    def store(self, parameters=None):
        """Keep a copy of the parameters' current values, for ``restore``."""
        self.collected_params = [p.data.copy() for p in self._resolve(parameters)]

    def restore(self, parameters=None):
        """Write back the values saved by ``store``."""
        if self.collected_params is None:
            raise RuntimeError("EMA.restore() needs a store() first: there are no saved values")
        for saved, p in zip(self.collected_params, self._resolve(parameters)):
            _write(p, saved)
        self.collected_params = None

    @contextlib.contextmanager
    def average_parameters(self, parameters=None):
        """Inside the block the parameters hold the EMA values; afterwards their own again
        (also when the block raises)."""
        self.store(parameters)
        self.copy_to(parameters)
        try:
            yield
        finally:
            self.restore(parameters)

    def state_dict(self):
        """decay, num_updates, use_num_updates and copies of the shadow arrays."""
        return {"decay": self.decay, "num_updates": self.num_updates,
                "use_num_updates": self.use_num_updates,
                "shadow_params": [s.copy() for s in self.shadow_params]}

    def load_state_dict(self, state_dict):
        shadows = state_dict["shadow_params"]
        if len(shadows) != len(self.shadow_params):
            raise ValueError(f"EMA state dict has {len(shadows)} averaged parameters, this EMA "
                             f"holds {len(self.shadow_params)}")
        new = []
        for i, (s, p) in enumerate(zip(shadows, self._params)):
            s = s.data if isinstance(s, Tensor) else s
            if tuple(s.shape) != p.shape:
                raise ValueError(f"EMA state dict: averaged parameter {i} has shape "
                                 f"{tuple(s.shape)}, the parameter has shape {p.shape}")
            new.append(backend.to_device(s, p.device).astype(p.dtype))  # astype copies
        self.shadow_params = new
        self.decay = state_dict["decay"]
        self.num_updates = int(state_dict["num_updates"])
        self.use_num_updates = bool(state_dict.get("use_num_updates", self.use_num_updates))

    def to(self, device):
        """Move the shadow arrays to ``device`` (after moving the model)."""
        self.shadow_params = [backend.to_device(s, device) for s in self.shadow_params]
        return self

    def __repr__(self):
        return (f"EMA(decay={self.decay}, use_num_updates={self.use_num_updates}, "
                f"num_updates={self.num_updates}, parameters={len(self.shadow_params)})")
