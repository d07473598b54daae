"""LSTMCell and LSTM, with torch's parameter names, shapes, gate order and initialization.

One step, with gates in torch's order i, f, g, o stacked in the rows of the weights:
  i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
  f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
  g = tanh(W_ig x + b_ig + W_hg h + b_hg)         candidate cell
  o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
  c' = f * c + i * g,      h' = o * tanh(c')
weight_ih is (4 H, input) = [W_ii; W_if; W_ig; W_io] and weight_hh is (4 H, H); every parameter
starts U(-1/sqrt(H), 1/sqrt(H)). LSTM stacks num_layers such cells, each reading the h sequence of
the one below (with dropout between layers in training mode).
"""
import math

from .. import creation
from ..ops.index import stack
from ..ops.lstm import lstm_gates, lstm_layer
from . import functional as F
from . import init
from .layers import empty_parameter
from .module import Module


def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step on a batch: x (N, input), h and c (N, H) -> (h', c')."""
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    return lstm_gates(gates, c, dim=1)


def _uniform_reset(module):
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _zeros(shape, like):
    return creation.zeros(*shape, dtype=like.dtype, device=like.device)


class LSTMCell(Module):
    """One LSTM step: ``cell(x, (h, c)) -> (h', c')`` for x (N, input_size) or unbatched
    (input_size,); (h, c) default to zeros."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = empty_parameter(4 * hidden_size, input_size, **factory)
        self.weight_hh = empty_parameter(4 * hidden_size, hidden_size, **factory)
        if bias:
            self.bias_ih = empty_parameter(4 * hidden_size, **factory)
            self.bias_hh = empty_parameter(4 * hidden_size, **factory)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_reset(self)

    def forward(self, input, hx=None):
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"LSTMCell: expected input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {input.shape}")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
            hx = None if hx is None else (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        if hx is None:
            hx = (_zeros((input.shape[0], self.hidden_size), input),) * 2
        h, c = lstm_step(input, hx[0], hx[1], self.weight_ih, self.weight_hh, self.bias_ih,
                         self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class LSTM(Module):
    """A multi-layer unidirectional LSTM over a sequence.

    ``lstm(x, (h_0, c_0)) -> output, (h_n, c_n)`` as torch: x is (L, N, input_size), or
    (N, L, input_size) with batch_first, or unbatched (L, input_size); output holds the last
    layer's h at every step (L, N, H); h_n and c_n (num_layers, N, H) the last step of each layer.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if bidirectional or proj_size:
            raise ValueError("minigen's LSTM is unidirectional without projections; "
                             f"got bidirectional={bidirectional}, proj_size={proj_size}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout should be a number in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        factory = {"device": device, "dtype": dtype}
        for k in range(num_layers):
            fan = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", empty_parameter(4 * hidden_size, fan, **factory))
            setattr(self, f"weight_hh_l{k}",
                    empty_parameter(4 * hidden_size, hidden_size, **factory))
            if bias:
                setattr(self, f"bias_ih_l{k}", empty_parameter(4 * hidden_size, **factory))
                setattr(self, f"bias_hh_l{k}", empty_parameter(4 * hidden_size, **factory))
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_reset(self)

    def _layer_weights(self, k):
        return [getattr(self, f"{name}_l{k}", None)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def forward(self, input, hx=None):
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(f"LSTM: expected input of shape (L, N, {self.input_size}) "
                             f"{'(batch_first: (N, L, ...)) ' if self.batch_first else ''}"
                             f"or (L, {self.input_size}), got {input.shape}")
        unbatched = input.ndim == 2
        if unbatched:
            input = input.unsqueeze(1)
            hx = None if hx is None else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        elif self.batch_first:
            input = input.transpose(0, 1)
        length, batch = input.shape[:2]
        state = (self.num_layers, batch, self.hidden_size)
        if hx is None:
            hx = (_zeros(state, input),) * 2
        elif hx[0].shape != state or hx[1].shape != state:
            raise ValueError(f"LSTM: expected h_0 and c_0 of shape {state}, got "
                             f"{hx[0].shape} and {hx[1].shape}")
        h_n, c_n = [], []
        for k in range(self.num_layers):
            if k > 0 and self.dropout and self.training:
                input = F.dropout(input, self.dropout, True)
            out = lstm_layer(input, hx[0][k], hx[1][k], *self._layer_weights(k))
            input, h, c = out[:, :, :self.hidden_size], out[-1, :, :self.hidden_size], \
                out[-1, :, self.hidden_size:]
            h_n.append(h)
            c_n.append(c)
        output = input
        if unbatched:
            output = output.squeeze(1)
            return output, (stack(h_n).squeeze(1), stack(c_n).squeeze(1))
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, (stack(h_n), stack(c_n))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s
