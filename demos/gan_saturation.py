# %% [markdown]
# # Why the generator maximizes log D(G(z)) (lecture §4.6)
#
# The minimax game of §4.4 asks G to minimize E log(1 - D(G(z))). Early in training D rejects
# G's samples easily, D(G(z)) ~ 0, and there log(1 - D) is flat: its gradient vanishes and G
# learns nothing. The non-saturating objective, minimize -E log D(G(z)), has the same fixed point
# but a steep slope exactly there. With D(x) = sigmoid(l(x)), the derivatives with respect to
# the logit l are
#
#     d/dl log(1 - D) = -D             (-> 0 as D -> 0: saturates)
#     d/dl -log D     = -(1 - D)       (-> -1 as D -> 0: full signal)
#
# Both losses are computed from logits in minigen (minigen/models/adversarial.py), so the
# gradients below are exact even at D(G(z)) = 1e-13.

# %%
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.models import adversarial as adv

from _demo import figures, save, steps

out = figures("gan_saturation")

# %% [markdown]
# ## 1. The two objectives and their slopes, as functions of D(G(z))

# %%
from matplotlib.figure import Figure

logits = np.linspace(-12, 6, 400)
d_of_g = 1 / (1 + np.exp(-logits))
curves = {}
for kind in adv.G_LOSSES:
    values, slopes = [], []
    for l in logits:
        t = mg.tensor(np.array([l]), requires_grad=True)
        loss = adv.generator_loss(t, kind)
        (g,) = mg.autograd.grad(loss, t)
        values.append(loss.item())
        slopes.append(abs(g.item()))
    curves[kind] = (np.array(values), np.array(slopes))

fig = Figure(figsize=(10, 4))
ax1, ax2 = fig.subplots(1, 2)
labels = {"minimax": "minimax: log(1 - D(G(z)))", "nonsaturating": "non-saturating: -log D(G(z))"}
for kind, (values, slopes) in curves.items():
    ax1.plot(d_of_g, values, label=labels[kind])
    ax2.loglog(d_of_g, slopes, label=labels[kind])
ax1.set_xlabel("D(G(z))")
ax1.set_ylabel("generator loss (minimized)")
ax1.legend()
ax2.set_xlabel("D(G(z))")
ax2.set_ylabel("|d loss / d logit|")
ax2.set_title("gradient reaching G through the logit")
ax2.legend()
save(fig, out, "objectives.png", "left: the minimax loss is flat near D(G(z)) = 0; right: its "
     "slope falls like D(G(z)) itself, the non-saturating slope stays near 1")

# %% [markdown]
# ## 2. The gradient that reaches G's weights as D gets better
#
# A GAN on ring8 with G fixed at its random initialization: D trains alone, so D(G(z)) falls
# towards 0. After every D step we measure the norm of the gradient of each objective with
# respect to G's parameters (nothing is updated with it).

# %%
mg.manual_seed(0)
train = data.load("ring8")
model = models.create("gan", train)
opts = model.configure_optimizers(1e-3)
rng = np.random.default_rng(0)
params = list(model.generator.parameters())
records = {"d_of_g_z": [], "minimax": [], "nonsaturating": []}
for step in range(steps(400, 30)):
    x = mg.tensor(train.x[rng.integers(0, len(train.x), 256)])
    logs = model.discriminator_step(x, None, opts["discriminator"])
    z = mg.randn(512, model.latent_dim)
    for kind in adv.G_LOSSES:
        loss = adv.generator_loss(model.discriminator(model.generator(z)), kind)
        grads = mg.autograd.grad(loss, params)
        records[kind].append(float(np.sqrt(sum((g.numpy() ** 2).sum() for g in grads))))
    records["d_of_g_z"].append(logs["d_of_g_z"])

fig = Figure(figsize=(6, 4.5))
ax = fig.subplots()
for kind in adv.G_LOSSES:
    ax.loglog(records["d_of_g_z"], records[kind], ".", markersize=3, label=labels[kind])
ax.invert_xaxis()
ax.set_xlabel("mean D(G(z)) (falls as D trains, left to right)")
ax.set_ylabel("||grad of the G loss w.r.t. G's weights||")
ax.legend()
save(fig, out, "gradient_reaching_g.png", "as D learns to reject the fixed G, the minimax "
     "gradient shrinks with D(G(z)) while the non-saturating one does not")
print(f"final mean D(G(z)) = {records['d_of_g_z'][-1]:.2e}: gradient norm minimax "
      f"{records['minimax'][-1]:.2e}, non-saturating {records['nonsaturating'][-1]:.2e}")
