"""The fused LSTM gates: one node from the gates' pre-activations and c_prev to (h, c).

With the pre-activations a = [a_i, a_f, a_g, a_o] stacked along ``dim`` in torch's order
(lecture §2.2's PixelRNN and nn.LSTM both compute them, by a convolution or a matrix product),

    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c = f * c_prev + i * g          h = o * tanh(c)

and the backward pass, with gh, gc the gradients arriving at h and c,

    dc      = gc + gh * o * (1 - tanh(c)^2)          (c reaches the loss directly and through h)
    da_i    = dc * g * i (1 - i)        da_f = dc * c_prev * f (1 - f)
    da_g    = dc * i * (1 - g^2)        da_o = gh * tanh(c) * o (1 - o)
    dc_prev = dc * f

A composite of the same math costs about twenty graph nodes per step (slices, sigmoids, products,
sums); a recurrent network takes one step per time step (per row, per diagonal), so those nodes
are what its time goes to. This op is one node whose forward and first-order backward run on
arrays. The backward formula is written once and applied either to arrays (first order: the
activations saved by forward are constants) or, when the backward pass is itself recorded
(create_graph=True), to Tensors recomputed from the inputs, so gradients of gradients are exact.

The node has one output, h and c stacked along a new first axis; ``lstm_gates`` returns its two
halves through ``unbind``.

``unbind(x, dim)`` splits a tensor into its steps along ``dim`` (as torch.unbind) for a
recurrence that consumes them one at a time: the input projections of all time steps computed by
one matrix product or convolution, then read step by step. Slicing with x[t] would give each
step a backward that scatters into a zero tensor of the full size, so a sequence of L steps would
cost L full-size arrays; here the L step gradients are gathered by one node and stacked once.
The gathering is written in Tensor ops (a stack), so it is differentiable again.
"""
from .. import backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from .elementwise import sigmoid_array
from .index import cat, stack
from .shape import broadcast_shapes, normalize_dim, sum_to


def _gate_gradients(gh, gc, i, f, g, o, tanh_c, c_prev):
    """(da_i, da_f, da_g, da_o, dc_prev) by the formulas of the module docstring; the arguments
    are all arrays or all Tensors (the same code serves both)."""
    dc = gc + gh * o * (1.0 - tanh_c * tanh_c)
    return (dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
            gh * tanh_c * o * (1.0 - o), dc * f)


def _split4(a, dim):
    """The four gate blocks of ``a`` along ``dim`` (views)."""
    n = a.shape[dim] // 4
    index = [slice(None)] * a.ndim
    blocks = []
    for k in range(4):
        index[dim] = slice(k * n, (k + 1) * n)
        blocks.append(a[tuple(index)])
    return blocks


class LSTMGatesOp(Function):
    """(gates, c_prev) -> stack([h, c]); ``dim`` is the axis of the 4 H gate pre-activations."""

    def forward(self, gates, c_prev):
        xp = backend.get_array_module(gates)
        a_i, a_f, a_g, a_o = _split4(gates, self.dim)
        i, f, o = sigmoid_array(a_i), sigmoid_array(a_f), sigmoid_array(a_o)
        g = xp.tanh(a_g)
        out = xp.empty((2,) + self.shape, dtype=gates.dtype)
        c = out[1]
        xp.multiply(f, c_prev, out=c)
        c += i * g
        tanh_c = xp.tanh(c)
        xp.multiply(o, tanh_c, out=out[0])
        self.saved = (i, f, g, o, tanh_c)
        return out

    def backward(self, grad):
        gates, c_prev = self.inputs
        gh, gc = grad[0], grad[1]
        if is_grad_enabled():
            # create_graph: the activations must be functions of the inputs in the graph
            a_i, a_f, a_g, a_o = _split4(gates, self.dim)
            i, f, g, o = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
            tanh_c = (f * c_prev + i * g).tanh()
            *d_gates, d_c_prev = _gate_gradients(gh, gc, i, f, g, o, tanh_c, c_prev)
            d_gates = cat(d_gates, self.dim)
        else:
            xp = backend.get_array_module(grad.data)
            *d_gates, d_c_prev = _gate_gradients(gh.data, gc.data, *self.saved, c_prev.data)
            d_gates = Tensor(xp.concatenate(d_gates, axis=self.dim))
            d_c_prev = Tensor(d_c_prev)
        need = self.needs_input_grad
        return (sum_to(d_gates, gates.shape) if need[0] else None,
                sum_to(d_c_prev, c_prev.shape) if need[1] else None)


def lstm_gates(gates, c_prev, dim=-1):
    """One LSTM update: (h, c) from the gate pre-activations and the previous cell state.

    ``gates`` holds the pre-activations of i, f, g, o (torch's order) stacked along ``dim``, so
    its size there is 4 H; ``c_prev`` has size H there, and the other dims broadcast
    (``gates`` (N, 4H) with ``c_prev`` (N, H) for nn.LSTM; (N, 4H, W) with (N, H, W) and dim=1
    for a row of PixelRNN's Row LSTM).
    """
    if gates.ndim == 0 or gates.ndim != c_prev.ndim:
        raise ValueError(f"lstm_gates needs gates and c_prev with the same number of dims "
                         f"(at least 1), got shapes {gates.shape} and {c_prev.shape}")
    if gates.dtype != c_prev.dtype or gates.dtype.kind != "f":
        raise TypeError(f"lstm_gates needs gates and c_prev of one floating dtype, got "
                        f"{gates.dtype} and {c_prev.dtype}")
    d = normalize_dim(dim, gates.ndim)
    if gates.shape[d] % 4 or gates.shape[d] // 4 != c_prev.shape[d]:
        raise ValueError(f"lstm_gates: gates must have 4 times c_prev's size along dim {dim} "
                         f"(the i, f, g, o blocks), got shapes {gates.shape} and {c_prev.shape}")
    block = gates.shape[:d] + (c_prev.shape[d],) + gates.shape[d + 1:]
    try:
        shape = broadcast_shapes(block, c_prev.shape)
    except ValueError:
        raise ValueError(f"lstm_gates: the gate blocks of shape {block} (gates {gates.shape}) "
                         f"do not broadcast with c_prev of shape {c_prev.shape}") from None
    return unbind(LSTMGatesOp.apply(gates, c_prev, dim=d, shape=shape), 0)


class UnbindOp(Function):
    """The gathering node of ``unbind``: its output is a 0-d placeholder that every step reads
    from; its backward stacks the gradients that the steps left in ``slots``."""

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        self.slots = [None] * x.shape[self.dim]
        return backend.get_array_module(x).zeros((), dtype=x.dtype)

    def backward(self, grad):
        like = self.inputs[0]
        zeros = None
        steps = []
        for g in self.slots:
            if g is None:   # a step that no gradient reached
                if zeros is None:
                    zeros = Tensor(backend.get_array_module(like.data).zeros(
                        self.shape[:self.dim] + self.shape[self.dim + 1:], dtype=self.dtype))
                g = zeros
            steps.append(g)
        self.slots = [None] * len(self.slots)   # ready for another pass (retain_graph)
        return stack(steps, self.dim)


class UnbindStepOp(Function):
    """Step ``index`` of the tensor behind an UnbindOp (read as a view); its backward hands the
    step's gradient to that node and returns a 0 for the placeholder."""

    def forward(self, placeholder):
        index = [slice(None)] * self.source.ndim
        index[self.gather.dim] = self.index
        return self.source[tuple(index)]

    def backward(self, grad):
        self.gather.slots[self.index] = grad
        return Tensor(backend.get_array_module(grad.data).zeros((), dtype=grad.dtype))


def unbind(x, dim=0):
    """The steps of ``x`` along ``dim`` as a tuple of tensors (views), as torch.unbind."""
    d = normalize_dim(dim, x.ndim)
    if not (x.requires_grad and is_grad_enabled()):
        index = [slice(None)] * x.ndim
        steps = []
        for k in range(x.shape[d]):
            index[d] = k
            steps.append(Tensor(x.data[tuple(index)]))
        return tuple(steps)
    placeholder = UnbindOp.apply(x, dim=d)
    gather = placeholder._ctx
    return tuple(UnbindStepOp.apply(placeholder, source=x.data, gather=gather, index=k)
                 for k in range(x.shape[d]))


class LSTMLayerOp(Function):
    """A whole LSTM layer over a sequence: (x (L, N, I), h0, c0 (N, H), weight_ih (4H, I),
    weight_hh (4H, H), [bias_ih, bias_hh] (4H,)) -> [h_t, c_t] of every step, (L, N, 2H).

    The same update as LSTMGatesOp at every step, with the matrix products of nn.LSTM: the
    input's share of the gates for all steps in one product, x W_ih^T + b, then per step
    gates_t = that + h_{t-1} W_hh^T. Backpropagation through time runs on arrays with the
    gate gradients of ``_gate_gradients``, step by step backwards (the recurrence dh_{t-1} =
    dgates_t W_hh), and the weight gradients as one product each over all steps,
    dW_ih = dgates^T x and dW_hh = dgates^T h_prev. Per step that is a few array operations
    instead of a few graph nodes, which is what a sequence of small steps spends its time on.

    Under create_graph the layer is recomposed from lstm_gates nodes and differentiated with
    autograd.grad(create_graph=True), so gradients of gradients are exact.
    """

    def forward(self, x, h0, c0, weight_ih, weight_hh, *biases):
        xp = backend.get_array_module(x)
        length, batch, _ = x.shape
        hidden = weight_hh.shape[1]
        x_gates = (x.reshape(length * batch, -1) @ weight_ih.T).reshape(length, batch, -1)
        for b in biases:
            x_gates += b
        out = xp.empty((length, batch, 2 * hidden), dtype=x.dtype)
        acts = xp.empty((length, batch, 4 * hidden), dtype=x.dtype)   # i, f, g, o
        tanh_c = xp.empty((length, batch, hidden), dtype=x.dtype)
        h, c = h0, c0
        for t in range(length):
            gates = x_gates[t]
            gates += h @ weight_hh.T
            a = acts[t]
            a[:, :2 * hidden] = sigmoid_array(gates[:, :2 * hidden])
            a[:, 2 * hidden:3 * hidden] = xp.tanh(gates[:, 2 * hidden:3 * hidden])
            a[:, 3 * hidden:] = sigmoid_array(gates[:, 3 * hidden:])
            i, f, g, o = _split4(a, 1)
            c = out[t, :, hidden:]
            xp.multiply(f, c0 if t == 0 else out[t - 1, :, hidden:], out=c)
            c += i * g
            xp.tanh(c, out=tanh_c[t])
            h = out[t, :, :hidden]
            xp.multiply(o, tanh_c[t], out=h)
        self.acts, self.tanh_c = acts, tanh_c
        return out

    def backward(self, grad):
        if is_grad_enabled():
            return self._composed_backward(grad)
        x, h0, c0, weight_ih, weight_hh = (t.data for t in self.inputs[:5])
        xp = backend.get_array_module(x)
        g_out, out = grad.data, self.output.data
        length, batch, _ = x.shape
        hidden = weight_hh.shape[1]
        d_gates = xp.empty((length, batch, 4 * hidden), dtype=x.dtype)
        dh, dc = 0.0, 0.0
        for t in reversed(range(length)):
            c_prev = c0 if t == 0 else out[t - 1, :, hidden:]
            grads = _gate_gradients(g_out[t, :, :hidden] + dh, g_out[t, :, hidden:] + dc,
                                    *_split4(self.acts[t], 1), self.tanh_c[t], c_prev)
            for k in range(4):
                d_gates[t, :, k * hidden:(k + 1) * hidden] = grads[k]
            dc = grads[4]
            dh = d_gates[t] @ weight_hh
        flat = d_gates.reshape(length * batch, 4 * hidden)
        h_prev = xp.concatenate([h0[None], out[:-1, :, :hidden]]).reshape(length * batch, hidden)
        need = self.needs_input_grad
        results = [(flat @ weight_ih).reshape(x.shape) if need[0] else None,
                   dh if need[1] else None, dc if need[2] else None,
                   flat.T @ x.reshape(length * batch, -1) if need[3] else None,
                   flat.T @ h_prev if need[4] else None]
        results += [flat.sum(0) if n else None for n in need[5:]]
        return tuple(None if r is None else Tensor(xp.asarray(r, dtype=x.dtype) if
                                                   isinstance(r, float) else r)
                     for r in results)

    def _composed_backward(self, grad):
        from ..autograd import grad as autograd_grad
        x, h0, c0, weight_ih, weight_hh, *biases = self.inputs
        recomposed = lstm_layer_composite(x, h0, c0, weight_ih, weight_hh, *biases)
        wanted = [t for t, n in zip(self.inputs, self.needs_input_grad) if n]
        found = iter(autograd_grad([recomposed], wanted, [grad], create_graph=True,
                                   allow_unused=True))
        return tuple(next(found) if n else None for n in self.needs_input_grad)


def lstm_layer_composite(x, h0, c0, weight_ih, weight_hh, *biases):
    """LSTMLayerOp's value, composed of differentiable nodes (lstm_gates per step)."""
    from ..nn.primitives import Linear
    length, batch, _ = x.shape
    x_gates = Linear.apply(x.reshape(length * batch, x.shape[2]), weight_ih)
    for b in biases:
        x_gates = x_gates + b
    h, c, steps = h0, c0, []
    for x_t in unbind(x_gates.reshape(length, batch, x_gates.shape[1]), 0):
        h, c = lstm_gates(x_t + Linear.apply(h, weight_hh), c, dim=1)
        steps.append(cat([h, c], 1))
    return stack(steps)


def lstm_layer(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM layer over x (L, N, I) from (h0, c0) (N, H): (L, N, 2H), h_t then c_t."""
    biases = [b for b in (bias_ih, bias_hh) if b is not None]
    return LSTMLayerOp.apply(x, h0, c0, weight_ih, weight_hh, *biases)
