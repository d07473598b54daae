# %% [markdown]
# # Progressive growing of GANs (lecture §5.3)
#
# ProGAN trains a WGAN-GP that starts small and grows: on the 8x8 digits the generator and the
# critic first work at 2x2, then 4x4, then 8x8. Each new block fades in: with alpha rising from
# 0 to 1 the output is
#
#     (1 - alpha) * upsample(old to-image path) + alpha * new block's to-image path
#
# and the critic's input path is blended the same way, so the grown networks start from what the
# small ones had learnt. Pixel norm, minibatch standard deviation and an equalized learning rate
# keep the game stable. About three minutes on a laptop CPU; `MINIGEN_DEMO_FAST=1` cuts it to
# seconds.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.models.progan import growth_schedule, plot_stage_samples
from minigen.train import Trainer
from minigen.train.plots import image_grid, smooth

from _demo import figures, save, steps

OUT = figures("progan")
STEPS = steps(1000, 10)
mg.manual_seed(0)

# %% [markdown]
# ## 1. The schedule: stabilize, then fade and stabilize at each new resolution

# %%
stages_alphas = [growth_schedule(s, STEPS, 3) for s in range(STEPS)]
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.plot([s + a - (1 if s else 0) for s, a in stages_alphas])
ax.set_yticks([0, 1, 2])
ax.set_yticklabels(["2x2", "4x4", "8x8"])
ax.set_xlabel("step")
save(fig, OUT, "schedule.png", "flat parts train a resolution, ramps fade the next one in")

# %% [markdown]
# ## 2. Train on the digits

# %%
train = data.load("digits", "train")
model = models.create("progan", train)
trainer = Trainer(model, train, batch_size=64, lr=1e-3, steps=STEPS)
for _ in range(STEPS):
    trainer.train_step()
fig, axes = plt.subplots(2, 1, figsize=(6, 4.5), sharex=True)
for ax, name in zip(axes, ("W_estimate", "growth")):
    record = trainer.history[name]
    ax.plot(record["step"], smooth(record["value"], 10))
    ax.set_ylabel(name)
axes[1].set_xlabel("step")
save(fig, OUT, "training.png", "the critic's Wasserstein estimate jumps at each fade-in and "
                               "settles while the resolution stabilizes")
plot_stage_samples(model, f"{OUT}/stages.png")
print(f"wrote {OUT}/stages.png\n    look at: one row per resolution, the same z each time: the "
      f"layout is fixed at 2x2 and detail is added")

# %% [markdown]
# ## 3. A fade-in, frozen: the last stage at alpha from 0 to 1

# %%
model.eval()
with mg.no_grad():
    z = mg.randn(6, model.latent_dim)
    strip = [model.generator(z, 2, float(a)).numpy().clip(-1, 1) for a in np.linspace(0, 1, 6)]
fig, ax = plt.subplots(figsize=(6, 6))
ax.imshow(image_grid(np.concatenate(strip), 6)[..., 0], cmap="gray")
ax.set_xticks([])
ax.set_yticks([])
ax.set_ylabel("alpha = 0 (top) ... 1 (bottom)")
save(fig, OUT, "fade_in.png", "the top row is the 4x4 output upsampled, the bottom the 8x8 "
                              "block's; in between, a blend")
