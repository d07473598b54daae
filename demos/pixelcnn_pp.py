# %% [markdown]
# # PixelCNN++: a mixture of discretized logistics instead of a 256-way softmax (lecture §2.5)
#
# PixelCNN gives every pixel a softmax over all its levels (256 for MNIST): level 128 and level
# 129 are as unrelated to it as 0 and 255, and each must be learnt separately. PixelCNN++ puts a
# mixture of K logistic distributions on the intensity axis and gives each level the mass of its
# bin,
#
#     P(k) = sum_j pi_j [sigma((x_k + h - mu_j) / s_j) - sigma((x_k - h - mu_j) / s_j)],
#
# with the two edge levels taking the whole tails (MNIST's background is exactly 0). 3K numbers
# per grey pixel replace 256, and neighbouring levels share probability. This demo
#
# 1. draws such a distribution over 256 levels, with its spiky edge bins;
# 2. checks that it sums to one even at extreme scales, where the textbook difference of two
#    sigmoids cancels to zero;
# 3. trains PixelCNN++ and the softmax PixelCNN briefly on the 17-level digits and compares their
#    test NLLs and samples.
#
# Runs in about four minutes on a laptop CPU.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.distributions import DiscretizedLogisticMixture

from _demo import figures, save, steps

OUT = figures("pixelcnn_pp")

# %% [markdown]
# ## 1. One pixel's distribution over 256 levels
# Three components: one narrow near the background (-1), one wide in the middle, one near full
# ink. The edge levels collect the tails beyond them.

# %%
levels = 256
grid = np.linspace(-1, 1, levels)
logits = mg.tensor(np.array([[1.0, 0.0, 0.5]]))[..., None]                     # (1, K, 1)
means = mg.tensor(np.array([[[-0.95, 0.1, 0.9]]]))[..., None]                  # (1, 1, K, 1)
log_scales = mg.tensor(np.array([[[-3.5, -1.5, -3.0]]]))[..., None]
dist = DiscretizedLogisticMixture(logits.expand(1, 3, levels), means.expand(1, 1, 3, levels),
                                  log_scales.expand(1, 1, 3, levels), levels=levels)
probs = np.exp(dist.log_prob(mg.tensor(grid.reshape(1, 1, levels))).numpy()[0])
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.bar(np.arange(levels), probs, width=1.0)
ax.set_xlabel("pixel level k")
ax.set_ylabel("P(k)")
ax.set_title(f"a 3-component discretized logistic mixture; total mass {probs.sum():.6f}")
save(fig, OUT, "mixture.png", "smooth bumps over neighbouring levels, and the spikes at 0 and "
                              "255 where the tails beyond the edges are gathered")

# %% [markdown]
# ## 2. Stable where the textbook formula is not
# With log s = -7 a component is narrower than one level, and with a mean far from the level
# both sigmoids are 1 in float32: their difference is 0 and its log is -inf. minigen writes the
# bin mass as sigmoid(b) sigmoid(-a) (1 - e^(a-b)), whose log has no cancellation.

# %%
for mean, log_scale in [(-30.0, -7.0), (0.3, -7.0), (0.3, 10.0), (30.0, 0.0)]:
    d = DiscretizedLogisticMixture(mg.zeros(1, 1, levels), mg.full((1, 1, 1, levels), mean),
                                   mg.full((1, 1, 1, levels), log_scale), levels=levels)
    lp = d.log_prob(mg.tensor(grid.reshape(1, 1, levels).astype(np.float32))).numpy()[0]
    s = 1 / np.exp(log_scale)
    naive = (1 / (1 + np.exp(-(grid[128] + 1 / 255 - mean) * s))
             - 1 / (1 + np.exp(-(grid[128] - 1 / 255 - mean) * s))).astype(np.float32)
    print(f"mean {mean:6.1f}, log s {log_scale:5.1f}: total mass {np.exp(lp).sum():.7f}, "
          f"log P(level 128) = {lp[128]:10.2f} (textbook float32 bin mass: {naive:.1e})")

# %% [markdown]
# ## 3. Mixture against softmax on the 17-level digits

# %%
train, test = data.load("digits", "train"), data.load("digits", "test")
results, drawn = {}, {}
for name in ("pixelcnn", "pixelcnn++"):
    mg.manual_seed(0)
    model = models.create(name, data=train)
    optimizers = model.configure_optimizers(2e-3)
    rng = np.random.default_rng(0)
    for step in range(steps(500, 5)):
        model.train()
        model.training_step((mg.tensor(train.x[rng.choice(len(train), 32, replace=False)]),),
                            optimizers, step)
    model.eval()
    with mg.no_grad():
        results[name] = -model.log_prob(mg.tensor(test.x)).mean().item()
        mg.manual_seed(1)
        drawn[name] = model.sample(16)
    print(f"{name:11s} test NLL after {steps(500, 5)} steps: {results[name]:.1f} nats per image "
          f"({results[name] / (64 * np.log(2)):.3f} bits/dim)")

fig, axes = plt.subplots(2, 16, figsize=(9, 1.6))
for r, name in enumerate(drawn):
    for c in range(16):
        axes[r, c].imshow(drawn[name][c, 0], cmap="gray", vmin=-1, vmax=1)
        axes[r, c].axis("off")
    axes[r, 0].set_title(name, fontsize=7, loc="left")
save(fig, OUT, "samples.png", "top: softmax PixelCNN, bottom: PixelCNN++ (mixture of "
                              "logistics), both after the same short training")
