# %% [markdown]
# # Diffusion models: noise in, data out (lecture §6.1-§6.2)
#
# A DDPM fixes a forward process that destroys data step by step,
#
#     x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I),
#
# and trains a network eps_theta to tell the noise eps in x_t (§6.1). Sampling runs the chain
# backwards from pure noise x_T: T = 1000 network calls (DDPM) or, with DDIM, 50 calls on the
# same network (the slow-sampling corner of the trilemma, §6.2). A conditional model sees the
# class y, and classifier-free guidance with scale w,
#
#     eps = (1 + w) eps_theta(x_t, t, y) - w eps_theta(x_t, t, null),
#
# trades diversity for class fidelity.
#
# This demo trains two small models in-process with `minigen.train.train` (the same loop as
# `minigen train ddpm`): an unconditional one on the 2-D toy ring8 and a class-conditional one on
# the embedded 8x8 digits. About three minutes on a laptop CPU; `MINIGEN_DEMO_FAST=1` cuts it
# to seconds (and the pictures to noise).

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data
from minigen.metrics.coverage import mode_coverage
from minigen.train import load_run, train
from minigen.train.plots import image_grid

from _demo import FAST, figures, save, steps

OUT = figures("ddpm")
# Fast mode: a 50-step chain, three training steps, DDIM-5 for the trainer's samples.png.
T = steps(1000, 50)
DDIM_STEPS = steps(50, 5)
COMMON = {"timesteps": T, "sample_steps": DDIM_STEPS}
mg.manual_seed(0)

# %% [markdown]
# ## 1. The forward process q(x_t | x_0)
# Six digits at growing t. By t = T/2 the digit is barely visible; x_T is indistinguishable from
# N(0, I) (alpha_bar_T = 4e-5 for the linear schedule of Ho et al.).

# %%
digits = data.load("digits", "train")
ring = train("ddpm", data="ring8", steps=steps(1500, 3), out=os.path.join(OUT, "run-ring8"),
             force=True, progress=False, options=COMMON)
cond = train("ddpm", data="digits", steps=steps(800, 3), out=os.path.join(OUT, "run-digits"),
             force=True, progress=False, options=dict(COMMON, conditional=True))
print(f"trained ring8 in {ring['train_seconds']:.0f} s, conditional digits in "
      f"{cond['train_seconds']:.0f} s")
toy_model, _ = load_run(ring["out"])          # EMA weights, as the CLI samples them
digit_model, _ = load_run(cond["out"])
for model in (toy_model, digit_model):
    model.sample_steps = 0     # sample(n) without steps= runs the full ancestral chain again

x0 = mg.tensor(digits.x[:6])
ts = [0, T // 20, T // 10, T // 5, 2 * T // 5, 7 * T // 10, T - 1]
columns = []
for t in ts:
    x_t = digit_model.q_sample(x0, t, mg.randn_like(x0))
    columns.append(x_t.numpy())
fig, ax = plt.subplots(figsize=(7, 6.5))
ax.imshow(image_grid(np.stack(columns, 1).reshape(-1, 1, 8, 8), len(ts))[..., 0], cmap="gray")
ax.set_xticks([1 + i * 9 + 4 for i in range(len(ts))], [f"t={t + 1}" for t in ts])
ax.set_yticks([])
ax.set_title("forward process: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps")
save(fig, OUT, "forward.png", "each row is one digit; noise takes over from left to right")

# %% [markdown]
# ## 2. The reverse chain, step by step
# Ancestral sampling (§6.1): x_(t-1) = mean(x_t, eps_theta(x_t, t)) + sigma_t z. The strip
# shows the same batch at several t, on ring8 (2-D points) and on digits (null label: the
# unconditional model that classifier-free training gives for free).

# %%
def reverse_chain(model, n, keep):
    """x_T ... x_0 by the model's own one-step formulas; returns {t: x_t in the data's scale}."""
    shown = {}
    with mg.no_grad():
        # the null label (index num_classes) asks a conditional network for p(x) itself
        y = mg.full((n,), model.num_classes, dtype=np.int64) if model.conditional else None
        x = mg.randn(n, *model.shape)
        shown[T] = model.to_data_space(x).numpy()
        for t in range(T - 1, -1, -1):
            x0 = model.schedule.predict_x0(x, t, model.eps_theta(x, t, y))
            if model.clip_range is not None:      # images: x_0_hat stays in [-1, 1]
                x0 = x0.clamp(*model.clip_range)
            x = model.schedule.ddpm_step(x, t, x0, mg.randn_like(x) if t > 0 else None)
            if t in keep:
                shown[t] = model.to_data_space(x).numpy()
    return shown


keep = [T // 2, T // 4, T // 10, T // 20, 0]
chain = reverse_chain(toy_model, 1000, keep)
fig, axes = plt.subplots(1, len(chain), figsize=(2.3 * len(chain), 2.5), sharex=True, sharey=True)
for ax, (t, x) in zip(axes, chain.items()):
    ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4)
    ax.set_title(f"x_{t}")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
    ax.set_aspect("equal")
save(fig, OUT, "chain_ring8.png", "noise collapses onto the 8 modes only in the last tenth of "
                                  "the chain, where the noise level is small")

chain = reverse_chain(digit_model, 8, keep)
strip = np.stack(list(chain.values()), 1).reshape(-1, 1, 8, 8)
fig, ax = plt.subplots(figsize=(5, 7))
ax.imshow(image_grid(strip, len(chain))[..., 0], cmap="gray")
ax.set_xticks([1 + i * 9 + 4 for i in range(len(chain))], [f"x_{t}" for t in chain])
ax.set_yticks([])
save(fig, OUT, "chain_digits.png", "each row is one sample: coarse shape first, strokes last")

# %% [markdown]
# ## 3. DDIM-50 against DDPM-1000 (§6.2)
# The same network, sampled with 50 DDIM steps (eta = 1: fresh noise at each step) and with
# the full ancestral chain. Mode coverage counts modes hit and the share of samples within
# 3 sigma of a mode.

# %%
toy = data.load("ring8", "test")
rows = []
fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
for ax, (name, options) in zip(axes, [(f"DDPM-{T}", {}),
                                      (f"DDIM-{DDIM_STEPS}", {"steps": DDIM_STEPS, "eta": 1.0})]):
    mg.manual_seed(1)
    start = time.perf_counter()
    x = toy_model.sample(2000, **options)
    seconds = time.perf_counter() - start
    cover = mode_coverage(x, toy.centers, toy.sigma)
    rows.append(f"{name:9s} {seconds:6.1f} s   {cover['modes_covered']}/{cover['num_modes']} "
                f"modes, {cover['hq_fraction']:.1%} of the samples within 3 sigma of a mode")
    ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4)
    ax.set_title(f"{name}: {seconds:.1f} s")
    ax.set_aspect("equal")
print("\n".join(rows))
save(fig, OUT, "ddim_vs_ddpm.png", "the same 8 modes at a twentieth of the network calls")

# %% [markdown]
# ## 4. Conditioning and classifier-free guidance
# One row per class, DDIM-50 samples at guidance w = 0 (the plain conditional model), 1 and 3.
# Larger w: cleaner, more typical digits, less variety within a row.

# %%
labels = mg.tensor(np.repeat(np.arange(10), 6))
fig, axes = plt.subplots(1, 3, figsize=(10, 6))
for ax, w in zip(axes, [0.0, 1.0, 3.0]):
    mg.manual_seed(2)
    x = digit_model.sample(len(labels), y=labels, steps=DDIM_STEPS, guidance=w, eta=1.0)
    ax.imshow(image_grid(x, 6)[..., 0], cmap="gray")
    ax.set_title(f"guidance w = {w:g}")
    ax.set_xticks([])
    ax.set_yticks([1 + r * 9 + 4 for r in range(10)], [str(k) for k in range(10)])
save(fig, OUT, "guidance.png", "row k should show digit k; compare the variety across w")
