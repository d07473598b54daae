# %% [markdown]
# # The variational autoencoder (lecture §3)
#
# A latent z ~ N(0, I) generates an image through the decoder p_theta(x|z); the encoder
# q_phi(z|x) = N(mu(x), exp(logvar(x))) guesses which z made a given x (§3.4). Training
# maximizes the ELBO of §3.6, E_q log p_theta(x|z) - KL(q_phi(z|x) || p(z)), through the
# reparametrization z = mu + exp(logvar / 2) * eps (§3.7).
#
# Here: minigen's `vae` on the binarized 8x8 digits with a 2-D latent, so that the whole latent
# space can be drawn. The figures: reconstructions, a walk between two codes, the codes of the
# test digits coloured by label, the decoder over a grid of z, samples from the prior (§3.8),
# the ELBO against the tighter IWAE_k bound, and how training on 1,497 images overfits.
# About two minutes; `MINIGEN_DEMO_FAST=1` in seconds.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.train import load_run, train

from _demo import FAST, figures, save, steps

OUT = figures("vae")
run = train("vae", data="digits-binary", steps=steps(3000, 30), out=os.path.join(OUT, "run"),
            options={"latent_dim": 2}, force=True, progress=False)
model, _ = load_run(run["out"])
test = data.load("digits-binary", "test")
x = mg.tensor(test.x)


def grid(images, rows, cols, ax, title):
    """Images (rows * cols, 1, H, W) in [-1, 1] as one picture on ``ax``."""
    h, w = images.shape[-2:]
    tiles = np.pad(images.reshape(rows, cols, h, w), ((0, 0), (0, 0), (1, 1), (1, 1)),
                   constant_values=-1.0)          # a blank frame between the tiles
    tiles = tiles.transpose(0, 2, 1, 3).reshape(rows * (h + 2), cols * (w + 2))
    ax.imshow(tiles, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.axis("off")


# %% [markdown]
# ## 1. Reconstructions: x beside x_hat
# Each test digit is encoded to its mean code mu(x) and decoded; the decoder's mean (the
# Bernoulli probabilities) is shown. Two numbers must carry the whole digit, so x_hat keeps its
# class and rough shape and loses the details: the price of the KL term.

# %%
with mg.no_grad():
    x_hat = model.reconstruct(x[:12])
fig, ax = plt.subplots(figsize=(8, 2.2))
grid(np.concatenate([test.x[:12], x_hat]), 2, 12, ax,
     "test digits (top) and their reconstructions (bottom)")
save(fig, OUT, "reconstructions.png", "x_hat keeps the class and the rough stroke, not the "
                                      "pixel noise of the binarization")

# %% [markdown]
# ## 2. A walk in latent space
# The decoder's means along the straight line between the codes of two test digits: the images
# change smoothly, because the KL term packs the codes of all digits around the origin of one
# continuous space.

# %%
starts, ends = [0, 3, 5], [7, 9, 2]
with mg.no_grad():
    path = model.interpolate(x[starts], x[ends], steps=10)
fig, ax = plt.subplots(figsize=(8, 2.8))
grid(path.reshape(-1, 1, 8, 8), len(starts), 10, ax, "decoder means from mu(x_a) to mu(x_b)")
save(fig, OUT, "interpolation.png", "each row morphs one digit into another without a jump")

# %% [markdown]
# ## 3. The latent map
# mu(x) of every test digit, coloured by its label (which the VAE never saw), and beside it the
# decoder's mean at each point of a grid over z in [-2.5, 2.5]^2: the classes occupy regions of
# the plane, and the decoder fills the space between them with plausible digits.

# %%
with mg.no_grad():
    mu, _ = model.encode(x)
zs = np.linspace(-2.5, 2.5, 12, dtype=np.float32)
z = np.stack(np.meshgrid(zs, zs[::-1]), -1).reshape(-1, 2)
with mg.no_grad():
    manifold = model.images_from(model.decode(mg.tensor(z)), mean=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
points = axes[0].scatter(*mu.numpy().T, c=test.y, cmap="tab10", s=10)
axes[0].set_xlabel("mu_1")
axes[0].set_ylabel("mu_2")
axes[0].set_title("codes mu(x) of the test digits")
fig.colorbar(points, ax=axes[0], ticks=range(10), label="label")
grid(manifold, 12, 12, axes[1], "decoder mean over a grid of z")
save(fig, OUT, "latent_map.png", "labels form regions in the plane of codes; the grid of z "
                                 "decodes to digits that change smoothly across them")

# %% [markdown]
# ## 4. Sampling from the prior (§3.8)
# z ~ N(0, I), then x ~ p_theta(x|z). The draws are noisy, since every pixel is an independent
# Bernoulli given z; the decoder's means are the blurred images a VAE is known for (§3.9).

# %%
mg.manual_seed(0)
with mg.no_grad():
    z = mg.randn(32, 2)
    out = model.decode(z)
    draws, means = model.images_from(out), model.images_from(out, mean=True)
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
grid(draws, 4, 8, axes[0], "x ~ p(x|z), z ~ N(0, I)")
grid(means, 4, 8, axes[1], "the decoder means of the same z")
save(fig, OUT, "samples.png", "draws are speckled, means are smooth and a little blurred")

# %% [markdown]
# ## 5. ELBO and IWAE_k
# The ELBO is a bound on log p(x); importance weighting with k samples from q gives tighter
# bounds, IWAE_1 = ELBO <= IWAE_k <= log p(x), rising with k. The gap between the ELBO and the
# limit is KL(q(z|x) || p(z|x)): how far the encoder's Gaussian is from the true posterior.

# %%
ks = [1, 5] if FAST else [1, 2, 5, 10, 50, 200]
with mg.no_grad():
    mg.manual_seed(1)
    elbo = np.mean([model.elbo(x).numpy().mean() for _ in range(5)])
    bounds = [model.iwae(x, k).numpy().mean() for k in ks]
for k, b in zip(ks, bounds):
    print(f"IWAE_{k:<4d} {b:8.3f} nats   (ELBO {elbo:.3f})")
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.semilogx(ks, bounds, "o-", label="IWAE_k")
ax.axhline(elbo, color="gray", linestyle="--", label="ELBO")
ax.set_xlabel("k (samples from q)")
ax.set_ylabel("bound on log p(x), nats")
ax.legend()
save(fig, OUT, "iwae.png", "the bound rises with k above the ELBO and flattens out")

# %% [markdown]
# ## 6. Small data overfits
# The binarized digits have 1,497 training images. A VAE with the default size (latent 8) is
# trained here on all but 300 of them, and the ELBO of both parts is recorded as it trains:
# the held-out ELBO peaks (near 2,500 steps) and then falls while the training ELBO keeps
# rising. `minigen train vae` stops at that peak by default; the test split is never used to
# choose it.

# %%
train_split = data.load("digits-binary", "train")
order = np.random.default_rng(0).permutation(len(train_split.x))
held_out, fit = train_split.x[order[:300]], train_split.x[order[300:]]
mg.manual_seed(0)
vae = models.create("vae", train_split)
optimizer = mg.optim.Adam(vae.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
every, history = steps(250, 5), []
for step in range(1, steps(5000, 10) + 1):
    loss = vae.loss(mg.tensor(fit[rng.integers(0, len(fit), 128)]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % every == 0:
        with mg.no_grad():
            mg.manual_seed(5)
            history.append((step, vae.elbo(mg.tensor(fit[:1000])).numpy().mean(),
                            vae.elbo(mg.tensor(held_out)).numpy().mean()))
steps_seen, fit_elbo, held_elbo = np.array(history).T
best = int(steps_seen[np.argmax(held_elbo)])
print(f"held-out ELBO is highest at step {best}: {held_elbo.max():.2f} nats "
      f"(training ELBO there {fit_elbo[np.argmax(held_elbo)]:.2f}, at the end {fit_elbo[-1]:.2f})")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(steps_seen, fit_elbo, label="training images")
ax.plot(steps_seen, held_elbo, label="held-out part of the train split")
ax.axvline(best, color="gray", linestyle=":")
ax.set_xlabel("step")
ax.set_ylabel("ELBO, nats per image")
ax.legend()
save(fig, OUT, "overfitting.png", "the two curves part: the held-out ELBO peaks and falls "
                                  "while the training ELBO keeps rising")
