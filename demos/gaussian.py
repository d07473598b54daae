# %% [markdown]
# # The baseline: one Gaussian fitted by maximum likelihood (lecture §1.3-§1.5)
#
# Generative modelling learns p_model(x) close to p_data(x) (§1.3); maximum likelihood minimizes
# KL(p_data || p_model) = E_data log p_data(x) - E_data log p_model(x) (§1.4). The simplest
# family is one full-covariance Gaussian, minigen's `gaussian` model. Its maximum-likelihood fit
# is known in closed form (the data's mean and covariance), so gradient descent can be checked
# against it, and its failure on a multi-modal distribution is the reason for every later model
# of the lecture (§1.5).
#
# ring8 is 8 narrow Gaussians on a circle of radius 2. Its mean is the centre of the circle,
# where there is no data at all. Runs in about 15 s; `MINIGEN_DEMO_FAST=1` in a few.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data
from minigen.metrics.coverage import mode_coverage
from minigen.train import load_run, train

from _demo import figures, save, steps

OUT = figures("gaussian")
run = train("gaussian", data="ring8", steps=steps(500, 20), out=os.path.join(OUT, "run-ring8"),
            force=True, progress=False)
model, _ = load_run(run["out"])
ring_train, ring_test = data.load("ring8", "train"), data.load("ring8", "test")

# %% [markdown]
# ## 1. Gradient descent finds the moment-matching solution
# The maximum-likelihood Gaussian has mu = mean of the data and Sigma = their covariance.

# %%
mu = model.mu.numpy()
sigma = model.covariance()
print("fitted mu     ", np.round(mu, 3), "  data mean      ", np.round(ring_train.x.mean(0), 3))
print("fitted Sigma  ", np.round(sigma.astype(float), 3).tolist(), "  data covariance",
      np.round(np.cov(ring_train.x.T, bias=True), 3).tolist())

# %% [markdown]
# ## 2. Where the mass goes
# Contours of the fitted density over the data; samples against the data. The Gaussian puts its
# highest density at the centre, where ring8 has none, and spreads the rest over a disc.

# %%
grid = np.linspace(-3.2, 3.2, 161)
gx, gy = np.meshgrid(grid, grid)
points = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
with mg.no_grad():
    density = np.exp(model.log_prob(mg.tensor(points)).numpy()).reshape(gx.shape)
mg.manual_seed(0)
samples = model.sample(2000)

fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), sharex=True, sharey=True)
axes[0].contourf(gx, gy, density, levels=12, cmap="Blues")
axes[0].scatter(*ring_test.x[:1000].T, s=1, color="black")
axes[0].set_title("p_model(x) and the data")
axes[1].scatter(*samples.T, s=1, alpha=0.5, color="tab:orange", label="Gaussian samples")
axes[1].scatter(*ring_test.x[:1000].T, s=1, color="black", label="ring8")
axes[1].legend(loc="upper right", markerscale=5, fontsize=8)
axes[1].set_title("samples")
for ax in axes:
    ax.set_xlim(-4, 4)
    ax.set_ylim(-4, 4)
    ax.set_aspect("equal")
save(fig, OUT, "gaussian_ring8.png", "the density peaks in the empty centre; samples fill a "
                                     "disc instead of 8 points")

# %% [markdown]
# ## 3. The price in numbers
# The true density of ring8 is known, so KL(p_data || p_model) can be estimated on the test
# split as the gap between the two log-likelihoods; mode coverage counts samples within
# 3 sigma of a mode.

# %%
def ring8_log_prob(x):
    """log of the true mixture density: log (1/8) sum_k N(x; c_k, s^2 I)."""
    c, s = ring_test.centers.astype(np.float64), ring_test.sigma
    sq = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    logs = -sq / (2 * s * s) - np.log(2 * np.pi * s * s) - np.log(len(c))
    top = logs.max(1, keepdims=True)
    return (top + np.log(np.exp(logs - top).sum(1, keepdims=True)))[:, 0]


with mg.no_grad():
    model_ll = model.log_prob(mg.tensor(ring_test.x)).numpy().mean()
data_ll = ring8_log_prob(ring_test.x.astype(np.float64)).mean()
print(f"test log-likelihood: true density {data_ll:.2f} nats, Gaussian {model_ll:.2f} nats, "
      f"so KL(p_data || p_model) is about {data_ll - model_ll:.2f} nats")
cover = mode_coverage(samples, ring_test.centers, ring_test.sigma)
print(f"2000 samples: {cover['modes_covered']}/{cover['num_modes']} modes covered, "
      f"{cover['hq_fraction']:.1%} within 3 sigma of a mode")
