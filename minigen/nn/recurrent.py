"""LSTMCell and LSTM, with torch's parameter names, shapes, gate order and initialization.

LSTMCell's docstring writes out one step (gates i, f, g, o in torch's order, stacked in the rows
of the weights); LSTM stacks num_layers such cells, each reading the h sequence of the one below
(with dropout between layers in training mode). The fused gate op of ops/lstm.py computes the
step from the gates' pre-activations, here and in PixelRNN.
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
    """A long short-term memory (LSTM) cell: one step ``cell(x, (h, c)) -> (h', c')``.

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)         candidate cell
        o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    where * is the elementwise product. PixelRNN's Row LSTM and Diagonal BiLSTM
    ("Лекция 12: Генеративные модели", §2.2) apply this update at every pixel, with the
    products W x and W h computed by convolutions (minigen.models.pixelrnn).

    Args:
        input_size (int): H_in, the features of x.
        hidden_size (int): H, the features of h and c.
        bias (bool): if False, there are no b_ih and b_hh. Default: True.
        device, dtype: where and in which floating dtype the parameters are created.

    ``forward(input, hx=None)``: hx is the pair (h, c); None means zeros.

    Shape:
        - Input: (N, H_in) or (H_in,).
        - h, c: (N, H) or (H,) (as the input is batched or not).
        - Output: the pair (h', c'), each (N, H) or (H,).

    Attributes:
        weight_ih (Parameter): [W_ii; W_if; W_ig; W_io], of shape (4 * hidden_size, input_size).
        weight_hh (Parameter): [W_hi; W_hf; W_hg; W_ho], of shape (4 * hidden_size,
            hidden_size).
        bias_ih, bias_hh (Parameter or None): of shape (4 * hidden_size,).
        All are initialized from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    Examples::

        >>> cell = mg.nn.LSTMCell(10, 20)
        >>> x = mg.randn(6, 3, 10)              # (time, batch, input_size)
        >>> h, c = mg.zeros(3, 20), mg.zeros(3, 20)
        >>> for t in range(6):
        ...     h, c = cell(x[t], (h, c))
        >>> h.shape, c.shape
        ((3, 20), (3, 20))
        >>> cell.weight_ih.shape
        (80, 10)
    """

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

    ``lstm(x, (h_0, c_0)) -> output, (h_n, c_n)``. Layer l runs the LSTMCell update over
    t = 1..L,

        (h_t^l, c_t^l) = cell_l(x_t^l, (h_{t-1}^l, c_{t-1}^l)),

    from (h_0[l], c_0[l]), where x_t^0 = x_t and x_t^l = dropout(h_t^(l-1)) for l > 0 (dropout
    only in training mode). ``output`` holds the last layer's h_t at every step; h_n and c_n
    the last step of every layer.

    Args:
        input_size (int): H_in, the features of x.
        hidden_size (int): H, the features of h and c.
        num_layers (int): the number of stacked layers. Default: 1.
        bias (bool): if False, the layers have no b_ih and b_hh. Default: True.
        batch_first (bool): if True, input and output are (N, L, H) instead of (L, N, H)
            (h and c are not affected). Default: False.
        dropout (float): the dropout probability on the outputs of every layer but the last.
            Default: 0.0.
        bidirectional (bool), proj_size (int): only False and 0 (an error otherwise).
        device, dtype: where and in which floating dtype the parameters are created.

    ``forward(input, hx=None)``: hx is the pair (h_0, c_0); None means zeros.

    Shape:
        - Input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        - h_0, c_0: (num_layers, N, H), or (num_layers, H) for an unbatched input.
        - Output: (L, N, H), (N, L, H) with batch_first, or (L, H); and the pair (h_n, c_n),
          each of h_0's shape.

    Attributes:
        weight_ih_l{k} (Parameter): layer k's weight_ih, of shape (4 * hidden_size, input_size)
            for k = 0 and (4 * hidden_size, hidden_size) for k > 0.
        weight_hh_l{k} (Parameter): of shape (4 * hidden_size, hidden_size).
        bias_ih_l{k}, bias_hh_l{k} (Parameter): of shape (4 * hidden_size,), if bias.
        All are initialized from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    Examples::

        >>> rnn = mg.nn.LSTM(10, 20, 2)
        >>> x = mg.randn(5, 3, 10)
        >>> h0, c0 = mg.randn(2, 3, 20), mg.randn(2, 3, 20)
        >>> output, (hn, cn) = rnn(x, (h0, c0))
        >>> output.shape, hn.shape, cn.shape
        ((5, 3, 20), (2, 3, 20), (2, 3, 20))
        >>> bool((output[-1] == hn[-1]).all())
        True
        >>> mg.nn.LSTM(10, 20, batch_first=True)(mg.randn(3, 5, 10))[0].shape
        (3, 5, 20)
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
