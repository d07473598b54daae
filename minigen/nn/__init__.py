"""minigen.nn: Module and Parameter, layers, losses, initializations and the functional API.

Names, arguments and state_dict keys are torch.nn's, so code and checkpoints carry over:

    import minigen as mg
    from minigen import nn
    import minigen.nn.functional as F
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
    loss = F.mse_loss(model(x), y)
"""
from . import functional, init, utils  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .module import Module  # noqa: F401
from .containers import Sequential, ModuleList, ModuleDict  # noqa: F401
from .layers import Identity, Flatten, Unflatten, Linear, Embedding, Dropout, Upsample  # noqa
from .activation import (ReLU, LeakyReLU, ELU, SiLU, GELU, Sigmoid, Tanh, Softplus,  # noqa: F401
                         Softmax, LogSoftmax)
from .conv import Conv1d, Conv2d, ConvTranspose2d, MaskedConv2d, causal_mask  # noqa: F401
from .norm import BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm  # noqa: F401
from .pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d  # noqa: F401
from .recurrent import LSTMCell, LSTM  # noqa: F401
from .loss import (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, NLLLoss,  # noqa: F401
                   CrossEntropyLoss)
