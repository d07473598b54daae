# %% [markdown]
# # PixelCNN: masked convolutions, the blind spot, and samples (lecture §2.1, §2.3, §2.5)
#
# An autoregressive model writes an image as a chain of conditionals in raster order (§2.1),
#
#     p(x) = prod_i p(x_i | x_1, ..., x_{i-1}),
#
# and PixelCNN computes all of them with one pass of a convolutional network whose kernels are
# masked, so that the output at pixel i only ever sees the pixels before i (§2.3). This demo
#
# 1. draws the masks A (first layer: not even the pixel itself) and B (later layers);
# 2. measures the receptive field of one output pixel by its gradient with respect to the input,
#    for PixelCNN and for the Gated PixelCNN of §2.5: PixelCNN's stacked masks leave a blind spot
#    up and to the right of the pixel, the two stacks of the gated version do not;
# 3. trains a PixelCNN on the binarized digits for a minute and draws samples pixel by pixel,
#    checking that log p(sample) equals the sum of the conditionals that drew it;
# 4. shows that 1,497 training images overfit: train and test NLL over steps, with and without
#    dropout.
#
# Runs in about four minutes on a laptop CPU.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.models.autoregressive import receptive_field
from minigen.nn.conv import causal_mask

from _demo import figures, save, steps

OUT = figures("pixelcnn")

# %% [markdown]
# ## 1. Masks A and B
# A 7x7 kernel keeps the rows above its centre and the positions left of the centre; mask B
# also keeps the centre. The first layer must use A: its output at pixel i is the prediction of
# x_i, so it must not read x_i. Later layers use B, since their position i holds features of
# x_<i already.

# %%
fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
for ax, kind in zip(axes, "AB"):
    ax.imshow(causal_mask(1, 1, 7, kind)[0, 0], cmap="Greys", vmin=0, vmax=1.3)
    ax.set_title(f"mask {kind}")
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, OUT, "masks.png", "mask A excludes the centre pixel, mask B includes it")

# %% [markdown]
# ## 2. The receptive field, measured
# For an output pixel (r, c), the gradient of the output with respect to the input image is
# non-zero exactly where the output depends on the input. Causality means zeros at (r, c) and
# after it; a blind spot shows as zeros among the pixels before it.

# %%
size, row, col = 16, 10, 8
shape = (1, size, size)
probe = data.Dataset(name="probe", split="train",
                     x=np.random.default_rng(0).choice([-1.0, 1.0], (8,) + shape).astype(np.float32),
                     y=np.zeros(8, np.int64), num_classes=1, levels=2)
mg.manual_seed(0)
nets = {"PixelCNN (5 blocks)": models.create("pixelcnn", data=probe, channels=16, blocks=5),
        "Gated PixelCNN (6 layers)": models.create("gated-pixelcnn", data=probe, channels=8,
                                                   layers=6)}
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
for ax, (title, net) in zip(axes, nets.items()):
    field = receptive_field(net, probe.x, row, col)[0] > 0
    past = np.arange(size * size).reshape(size, size) < row * size + col
    picture = np.where(field, 2, np.where(past, 1, 0))       # seen / past but unseen / future
    ax.imshow(picture, cmap="viridis", vmin=0, vmax=2)
    ax.plot(col, row, "r*", markersize=12)
    blind = int((past & ~field)[row - 5:row, :].sum())
    ax.set_title(f"{title}\nunseen past pixels in the 5 rows above: {blind}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, OUT, "receptive_field.png",
     "yellow: pixels the output at the red star depends on; teal: earlier pixels it cannot see. "
     "PixelCNN's field is a cone that misses a wedge up and to the right (the blind spot); the "
     "gated version sees every earlier pixel within its range")

# %% [markdown]
# ## 3. Train on binarized digits, sample pixel by pixel
# `digits-binary` is the 8x8 digits with each pixel drawn once as Bernoulli(intensity), so the
# head predicts one Bernoulli logit per pixel and log p(x) is a sum of 64 binary cross-entropies.

# %%
train, test = data.load("digits-binary", "train"), data.load("digits-binary", "test")
mg.manual_seed(0)
model = models.create("pixelcnn", data=train)
optimizers = model.configure_optimizers(2e-3)
rng = np.random.default_rng(0)


def test_nll():
    model.eval()
    with mg.no_grad():
        return -model.log_prob(mg.tensor(test.x)).mean().item()


print(f"test NLL before training: {test_nll():.1f} nats per image (64 ln 2 = {64 * np.log(2):.1f} "
      f"for coin flips)")
for step in range(steps(600, 10)):
    model.train()
    batch = train.x[rng.choice(len(train), 64, replace=False)]
    model.training_step((mg.tensor(batch),), optimizers, step)
print(f"test NLL after {steps(600, 10)} steps: {test_nll():.1f} nats per image")

model.eval()
mg.manual_seed(1)
with mg.no_grad():
    samples, step_log_probs = model.sample_with_log_probs(32)
    exact = model.log_prob(mg.tensor(samples)).numpy()
print(f"log p(sample) from one pass vs the sum of the 64 conditionals that drew it: max "
      f"difference {np.abs(exact - step_log_probs.sum(1)).max():.2e} nats")

fig, axes = plt.subplots(4, 16, figsize=(9, 2.6))
for i, ax in enumerate(axes.flat):
    image = samples[i, 0] if i < 32 else test.x[i - 32, 0]
    ax.imshow(image, cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
fig.suptitle("top two rows: PixelCNN samples; bottom two rows: test images", fontsize=9)
save(fig, OUT, "samples.png", "samples drawn pixel by pixel next to real binarized digits")

# %% [markdown]
# ## 4. Small data overfits
# Maximum likelihood fits the training images; with 1,497 of them a PixelCNN soon starts to
# memorize: its training NLL keeps falling while the test NLL bottoms out and rises. Two networks
# of the default size are trained side by side on the same batches, one with the default
# dropout 0.5 inside each residual block and one without, and both NLLs are measured as they
# train. `minigen train pixelcnn --data digits-binary` stops at 500 steps, near the bottom of the
# dropout curve.

# %%
fit_x = mg.tensor(train.x[:500])
curves = {}
for dropout in (0.0, 0.5):
    mg.manual_seed(0)
    net = models.create("pixelcnn", data=train, dropout=dropout)
    opt = net.configure_optimizers(2e-3)
    rng = np.random.default_rng(0)
    history = []
    for step in range(1, steps(1000, 4) + 1):
        net.train()
        net.training_step((mg.tensor(train.x[rng.choice(len(train), 64, replace=False)]),), opt,
                          step)
        if step % steps(100, 2) == 0:
            net.eval()
            with mg.no_grad():
                history.append((step, -net.log_prob(fit_x).mean().item(),
                                -net.log_prob(mg.tensor(test.x)).mean().item()))
    curves[dropout] = np.array(history).T

fig, ax = plt.subplots(figsize=(6.5, 4))
for dropout, color in ((0.0, "tab:red"), (0.5, "tab:blue")):
    at, train_nll, test_nll_curve = curves[dropout]
    ax.plot(at, train_nll, color=color, linestyle="--", label=f"train, dropout {dropout}")
    ax.plot(at, test_nll_curve, color=color, label=f"test, dropout {dropout}")
    best = int(at[np.argmin(test_nll_curve)])
    print(f"dropout {dropout}: test NLL lowest at step {best} ({test_nll_curve.min():.2f} nats), "
          f"{test_nll_curve[-1]:.2f} at step {int(at[-1])}; train NLL {train_nll[-1]:.2f}")
ax.axvline(500, color="gray", linestyle=":", label="default steps (500)")
ax.set_xlabel("step (batches of 64)")
ax.set_ylabel("NLL, nats per image")
ax.legend(fontsize=8)
save(fig, OUT, "overfitting.png", "dashed: training NLL keeps falling; solid: test NLL bottoms "
                                  "out and rises, sooner and higher without dropout")
