# %% [markdown]
# # Autograd from scratch: a graph, its backward, a gradient of a gradient
#
# Every model of the lecture is trained by back-propagation, and two of them need more than one
# backward pass: WGAN-GP's penalty lambda (||grad_x D(x)|| - 1)^2 is differentiated with
# respect to D's weights (§5.2), and the VAE's reparametrized z = mu + sigma eps sends the
# gradient through a sample (§3.6). This demo opens minigen's engine (minigen/autograd.py):
#
# 1. an expression records a graph: each op is a `Function` node that remembers its inputs;
# 2. `backward()` walks that graph once, from the output to the leaves, applying each node's
#    local rule (chain rule), and the result matches finite differences;
# 3. each node's backward is itself written in Tensor ops, so with `create_graph=True` the
#    gradient is a new graph, and it can be differentiated again.
#
# Runs in a few seconds.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen.testing import gradcheck, gradgradcheck

from _demo import figures, save

OUT = figures("autograd")

# %% [markdown]
# ## 1. The graph of y = sum(tanh(x * w + b))

# %%
x = mg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
w = mg.tensor(np.array([1.5, 0.3, -0.7]), requires_grad=True)
b = mg.tensor(np.array(0.1), requires_grad=True)
y = (x * w + b).tanh().sum()


def graph(output, names):
    """(nodes, edges) of the graph that produced ``output``: nodes are tensors, labelled by the
    Function that made them (or by their name for leaves); edges point from input to output."""
    nodes, edges, todo = {}, [], [output]
    while todo:
        t = todo.pop()
        if id(t) in nodes:
            continue
        fn = t.grad_fn
        nodes[id(t)] = names.get(id(t), type(fn).__name__ if fn else "leaf")
        for parent in (fn.inputs if fn else ()):
            edges.append((id(parent), id(t)))
            todo.append(parent)
    return nodes, edges


def depth(node, edges, memo):
    """Longest path from a leaf: the column a node is drawn in."""
    if node not in memo:
        parents = [a for a, b in edges if b == node]
        memo[node] = 1 + max((depth(p, edges, memo) for p in parents), default=-1)
    return memo[node]


nodes, edges = graph(y, {id(x): "x (leaf)", id(w): "w (leaf)", id(b): "b (leaf)", id(y): "y"})
memo = {}
columns = {}
for node in nodes:
    columns.setdefault(depth(node, edges, memo), []).append(node)
where = {n: (c, r - (len(col) - 1) / 2) for c, col in columns.items() for r, n in enumerate(col)}
fig, ax = plt.subplots(figsize=(9, 3.5))
for a, b_ in edges:
    (xa, ya), (xb, yb) = where[a], where[b_]
    ax.annotate("", xy=(xb - 0.25, yb), xytext=(xa + 0.25, ya),
                arrowprops=dict(arrowstyle="->", color="gray"))
for n, (cx, cy) in where.items():
    ax.text(cx, cy, nodes[n], ha="center", va="center",
            bbox=dict(boxstyle="round", facecolor="lightyellow" if "leaf" in nodes[n] else "w"))
ax.set_xlim(-0.6, max(columns) + 0.6)
ax.set_ylim(-1.5, 1.5)
ax.axis("off")
ax.set_title("the recorded graph: backward walks it from y (right) to the leaves (left)")
save(fig, OUT, "graph.png", "one node per op; the leaves are what gradients are asked for")

# %% [markdown]
# ## 2. Backward: the chain rule, node by node
# dy/dx_i = (1 - tanh(u_i)^2) w_i with u = x w + b, and dy/db = sum_i (1 - tanh(u_i)^2).
# gradcheck compares every entry with central finite differences in float64.

# %%
y.backward()
u = x.numpy() * w.numpy() + b.numpy()
print("autograd dy/dx", x.grad.numpy(), "  by hand", (1 - np.tanh(u) ** 2) * w.numpy())
print("autograd dy/db", b.grad.numpy(), "  by hand", (1 - np.tanh(u) ** 2).sum())
print("gradcheck:", gradcheck(lambda x, w, b: (x * w + b).tanh().sum(), [x, w, b]))

# %% [markdown]
# ## 3. A gradient of a gradient
# With create_graph=True the first derivative of f(t) = tanh(t) is itself a Tensor with a graph,
# so autograd gives f'' and f''' too. The curves are autograd's, the dots the closed forms
# f' = 1 - f^2, f'' = -2 f f', f''' = -2 (f'^2 + f f'').

# %%
t = mg.tensor(np.linspace(-3, 3, 121), requires_grad=True)
curves = [t.tanh()]
for _ in range(3):
    (g,) = mg.autograd.grad(curves[-1].sum(), t, create_graph=True)
    curves.append(g)
f = np.tanh(t.numpy())
d1 = 1 - f ** 2
d2 = -2 * f * d1
d3 = -2 * (d1 ** 2 + f * d2)
fig, ax = plt.subplots(figsize=(6, 4))
for k, (curve, exact) in enumerate(zip(curves, [f, d1, d2, d3])):
    ax.plot(t.numpy(), curve.detach().numpy(), label=["f", "f'", "f''", "f'''"][k])
    ax.plot(t.numpy()[::8], exact[::8], "k.", ms=3)
ax.legend()
ax.set_title("tanh and three autograd derivatives (dots: closed forms)")
save(fig, OUT, "higher_order.png", "each curve lies on its dots: derivatives of derivatives")
print("largest error of f''':", float(np.abs(curves[3].detach().numpy() - d3).max()))

# %% [markdown]
# ## 4. The gradient penalty's double backward (§5.2)
# For a critic D(x) = sum(tanh(x W)) the penalty (||grad_x D(x)|| - 1)^2 depends on W through
# the input gradient. Its gradient with respect to W needs the backward of a backward;
# gradgradcheck checks that second-order pass against finite differences.

# %%
rng = np.random.default_rng(0)
W = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
xs = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)


def penalty(W):
    (g,) = mg.autograd.grad((xs @ W).tanh().sum(), xs, create_graph=True)
    return ((g.pow(2).sum(dim=1).sqrt() - 1) ** 2).mean()


def penalty_at(W_array):
    return penalty(mg.tensor(W_array, requires_grad=True)).item()


(dW,) = mg.autograd.grad(penalty(W), W)          # backward through the backward of the critic
direction = rng.standard_normal(W.shape)
h = 1e-6
numeric = (penalty_at(W.numpy() + h * direction) - penalty_at(W.numpy() - h * direction)) / (2 * h)
print(f"penalty {penalty(W).item():.6f}; along a random direction: autograd "
      f"{(dW.numpy() * direction).sum():.8f}, finite differences {numeric:.8f}")
print("gradgradcheck of the critic itself:",
      gradgradcheck(lambda x, W: (x @ W).tanh().sum(dim=1), [xs, W]))
