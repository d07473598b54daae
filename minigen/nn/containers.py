"""Containers: Sequential (a chain of modules), ModuleList and ModuleDict (registered collections).

A plain Python list of layers would hide them from ``parameters()`` and ``state_dict()``; these
containers register each element as a sub-module under its index or key, exactly as torch names
them (``0.weight``, ``blocks.3.conv.bias``).
"""
from collections import OrderedDict

from .module import Module


def _position(index, length, kind):
    if not isinstance(index, int) or isinstance(index, bool):
        raise TypeError(f"{kind} indices must be ints or slices, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {kind} of length {length}")
    return index % length


class _IndexedModules(Module):
    """Shared code of Sequential and ModuleList: modules registered under "0", "1", ..."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def _renumber(self, modules):
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return self._from_items(items[index])
        return items[_position(index, len(items), type(self).__name__)][1]

    def __setitem__(self, index, module):
        key = list(self._modules)[_position(index, len(self), type(self).__name__)]
        setattr(self, key, module)

    def __delitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_position(index, len(modules), type(self).__name__)]
        self._renumber(modules)  # keys stay 0..n-1, as in torch

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self


class Sequential(_IndexedModules):
    """A chain of modules: forward feeds the input through each module in turn.

        Sequential(m_1, ..., m_n)(x) = m_n(... m_2(m_1(x)) ...)

    The modules are registered under "0", "1", ... (or under the keys of an OrderedDict), so
    the state_dict keys are torch's ("0.weight", "fc.bias"). Indexing gives a module, a slice
    a new Sequential; ``append``, ``extend``, ``insert`` and ``del`` keep the keys 0..n-1.

    Args:
        args (Module, ...): the modules in order, or one dict/OrderedDict of name -> module.

    Shape:
        - Input: whatever the first module accepts.
        - Output: whatever the last module returns.

    Examples::

        >>> model = mg.nn.Sequential(mg.nn.Conv2d(1, 20, 5), mg.nn.ReLU(),
        ...                          mg.nn.Conv2d(20, 64, 5), mg.nn.ReLU())
        >>> model(mg.randn(2, 1, 28, 28)).shape
        (2, 64, 20, 20)
        >>> from collections import OrderedDict
        >>> model = mg.nn.Sequential(OrderedDict([("fc", mg.nn.Linear(4, 2)),
        ...                                       ("act", mg.nn.Tanh())]))
        >>> list(model.state_dict()), model[0]
        (['fc.weight', 'fc.bias'], Linear(in_features=4, out_features=2, bias=True))
    """

    def __init__(self, *args):
        if len(args) == 1 and isinstance(args[0], dict):
            super().__init__()
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            super().__init__(args)

    def _from_items(self, items):
        return Sequential(OrderedDict(items))

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of modules, registered so that their parameters are found; it has no forward.

    A plain Python list of layers would hide them from ``parameters()``, ``state_dict()`` and
    ``to(device)``. A ModuleList indexes, slices, iterates and supports ``append``,
    ``extend``, ``insert``, ``del``, ``+`` and ``+=`` like a list.

    Args:
        modules (iterable of Module, optional): the initial modules.

    Examples::

        >>> layers = mg.nn.ModuleList([mg.nn.Linear(10, 10) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
        >>> x = mg.randn(4, 10)
        >>> for layer in layers:
        ...     x = layer(x).tanh()
        >>> x.shape
        (4, 10)
        >>> len(layers.append(mg.nn.ReLU())), list(layers.state_dict())[-1]
        (4, '2.bias')
    """

    def __init__(self, modules=None):
        super().__init__(modules or ())

    def _from_items(self, items):
        return ModuleList([m for _, m in items])

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))


class ModuleDict(Module):
    """A dict of modules with string keys, registered so that their parameters are found.

    Keys keep their insertion order; ``keys()``, ``values()``, ``items()``, ``update``, ``pop``,
    ``clear``, ``in`` and ``del`` work as for a dict. It has no forward.

    Args:
        modules (dict or iterable of (str, Module) pairs, optional): the initial modules.

    Examples::

        >>> heads = mg.nn.ModuleDict({"mean": mg.nn.Linear(8, 2), "logvar": mg.nn.Linear(8, 2)})
        >>> h = mg.randn(5, 8)
        >>> {name: head(h).shape for name, head in heads.items()}
        {'mean': (5, 2), 'logvar': (5, 2)}
        >>> list(heads.state_dict())
        ['mean.weight', 'mean.bias', 'logvar.weight', 'logvar.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r}; its keys are {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if isinstance(modules, dict) else modules
        for key, module in items:
            self[key] = module

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self):
        self._modules.clear()
