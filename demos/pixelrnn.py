# %% [markdown]
# # PixelRNN: generation pixel by pixel (lecture §2.1-§2.2, §2.4)
#
# The chain rule of §2.1 in raster order, p(x) = prod_i p(x_i | x_1, ..., x_{i-1}), with the
# context x_<i carried to pixel i by LSTM states that scan the image (§2.2): the Row LSTM one
# row at a time, the Diagonal BiLSTM one diagonal at a time in two directions.
#
# Here both are trained briefly on the binarized 8x8 digits. The figures: the order in which a
# sample is generated, one pixel per network pass (the slowness of §2.4), with the model's
# probability for each pixel as it was drawn; which earlier pixels each variant can see (the
# Row LSTM's triangle against the Diagonal BiLSTM's whole past); and samples with the test
# likelihood of each. About three minutes; `MINIGEN_DEMO_FAST=1` in seconds.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data
from minigen.models.autoregressive import receptive_field
from minigen.train import load_run, train

from _demo import figures, save, steps

OUT = figures("pixelrnn")
trained = {}
for name in ("pixelrnn-row", "pixelrnn-diag"):
    run = train(name, data="digits-binary", steps=steps(600, 3), out=os.path.join(OUT, name),
                force=True, progress=False)
    trained[name], _ = load_run(run["out"])
test = data.load("digits-binary", "test")

# %% [markdown]
# ## 1. The order of generation
# Left: the step at which each pixel is drawn (raster order). Then one sample of the Diagonal
# BiLSTM after 8, 16, ... steps: the sampler runs the whole network once per pixel on what has
# been drawn so far, and draws pixel t from p(x_t | x_<t) (grey: not drawn yet). Right: that
# probability, p(x_t = 1 | x_<t), for every pixel of the finished sample; it is near 0 or 1
# where the strokes so far leave no doubt, and near 1/2 where a new stroke may start.

# %%
model = trained["pixelrnn-diag"]
mg.manual_seed(3)
start = time.perf_counter()
x, step_log_probs = model.sample_with_log_probs(1)
seconds = time.perf_counter() - start
sample = x[0, 0]
p_drawn = np.exp(step_log_probs[0]).reshape(8, 8)          # probability of the value drawn
p_one = np.where(sample > 0, p_drawn, 1 - p_drawn)
print(f"one 8x8 sample: 64 network passes in {seconds:.2f} s")

shown = [8, 16, 24, 32, 48, 64]
fig, axes = plt.subplots(1, len(shown) + 2, figsize=(2 * (len(shown) + 2), 2.4))
order = np.arange(64).reshape(8, 8)
axes[0].imshow(order, cmap="viridis")
for (r, c), t in np.ndenumerate(order):
    axes[0].text(c, r, str(t), ha="center", va="center", fontsize=6, color="white")
axes[0].set_title("step of each pixel")
for ax, t in zip(axes[1:], shown):
    partial = np.where(order < t, sample, 0.0)               # 0 shows as grey
    ax.imshow(partial, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(f"after {t} steps")
axes[-1].imshow(p_one, cmap="magma", vmin=0, vmax=1)
axes[-1].set_title("p(x_t = 1 | x_<t)")
for ax in axes:
    ax.axis("off")
save(fig, OUT, "generation_order.png", "rows fill in from the top, each left to right; the "
                                       "probabilities are sure inside strokes, unsure at their "
                                       "starts")

# %% [markdown]
# ## 2. What each variant can see
# For the pixel marked red, the earlier pixels its prediction depends on (a Jacobian row of the
# trained network, one backward pass). The Row LSTM's state reaches one column further per row
# up: a triangle, which misses the far upper right. The Diagonal BiLSTM's two streams together
# cover every earlier pixel. Neither sees the pixel itself or anything after it.

# %%
at = (5, 1)
fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
for ax, name in zip(axes, trained):
    seen = receptive_field(trained[name], test.x[:4], *at)[0] > 0
    ax.imshow(seen, cmap="Blues", vmin=0, vmax=1.4)
    ax.scatter([at[1]], [at[0]], color="red", s=60)
    ax.set_title(f"{name}: {int(seen.sum())} of {at[0] * 8 + at[1]} earlier pixels",
                 fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, OUT, "context.png", "the Row LSTM's triangle against the Diagonal BiLSTM's full past")

# %% [markdown]
# ## 3. Samples and likelihoods
# Both give the exact log-likelihood of a test image in one pass (§2.4): the numbers are test
# NLL in nats per image after this short training (the README has the full runs).

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, name in zip(axes, trained):
    mg.manual_seed(0)
    images = trained[name].sample(steps(36, 4))
    with mg.no_grad():
        nll = -trained[name].log_prob(mg.tensor(test.x)).numpy().mean()
    n = int(np.sqrt(len(images)))
    tiles = np.pad(images[:n * n, 0].reshape(n, n, 8, 8), ((0, 0), (0, 0), (1, 1), (1, 1)),
                   constant_values=-1.0).transpose(0, 2, 1, 3).reshape(n * 10, n * 10)
    ax.imshow(tiles, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(f"{name}: test NLL {nll:.1f} nats")
    ax.axis("off")
    print(f"{name}: test NLL {nll:.2f} nats per image")
save(fig, OUT, "samples.png", "binary digits drawn pixel by pixel by each variant")
