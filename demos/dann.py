# %% [markdown]
# # Domain adaptation by gradient reversal: DANN (lecture §5.5)
#
# A classifier trained on grey MNIST digits (the *source*) reads the same digits on colour
# textures (the *target*, mnistm5k) badly: its features tell the two domains apart. DANN adds a
# domain classifier G_d on the features f = G_f(x) and trains G_f to *fool* it, through the
# gradient reversal R_lambda (identity forward, -lambda times the gradient backward):
#
#     loss = CE(G_y(G_f(x_s)), y_s) + BCE(G_d(R_lambda(G_f(x))), domain)
#
# No target label is used in training. Beside DANN the same run trains a source-only twin (same
# network, batches and steps, no G_d), so the gain is measured, not assumed. About two minutes
# on a laptop CPU; `MINIGEN_DEMO_FAST=1` cuts it to seconds.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.models.dann import plot_feature_pca, reversal_weight
from minigen.train import Trainer
from minigen.train.plots import image_grid, smooth

from _demo import figures, save, steps

OUT = figures("dann")
STEPS = steps(800, 3)
mg.manual_seed(0)

# %% [markdown]
# ## 1. The two domains and the schedule of lambda
# lambda_p = 2 / (1 + exp(-10 p)) - 1 over the training progress p: 0 at first, while the
# features are still noise and fooling G_d would teach nothing, then close to 1.

# %%
source, target = data.load_pair("mnistm5k", "test")
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].imshow(image_grid(source.x[:24], 8))
axes[0].set_title("source: mnist5k")
axes[1].imshow(image_grid(target.x[:24], 8))
axes[1].set_title("target: mnistm5k (labels unused)")
for ax in axes[:2]:
    ax.axis("off")
p = np.linspace(0, 1, 101)
axes[2].plot(p, [reversal_weight(v) for v in p])
axes[2].set_xlabel("training progress p")
axes[2].set_ylabel("lambda_p")
save(fig, OUT, "domains.png", "the same digits in two domains; lambda rises from 0 to ~1")

# %% [markdown]
# ## 2. Train DANN and its source-only twin together

# %%
train = data.load("mnistm5k", "train")
model = models.create("dann", train)
trainer = Trainer(model, train, batch_size=64, lr=0.01, steps=STEPS)
for _ in range(STEPS):
    trainer.train_step()
model.eval()
with mg.no_grad():
    metrics = model.extra_metrics(data.load("mnistm5k", "test"))
for key, value in metrics.items():
    print(f"{key:30s} {value:.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for name in ("domain_accuracy", "lambda"):
    record = trainer.history[name]
    ax.plot(record["step"], smooth(record["value"], 20), label=name)
ax.axhline(0.5, color="gray", linestyle=":")
ax.set_xlabel("step")
ax.legend()
save(fig, OUT, "domain_accuracy.png", "as lambda grows, G_d's accuracy on the training batches "
                                      "is pushed down from ~1 towards 0.5 (chance)")

# %% [markdown]
# ## 3. The features before and after adaptation
# A 2-D PCA of G_f(x) for test images of both domains: the source-only network keeps the domains
# apart; DANN's features mix them, so the label predictor trained on the source also reads the
# target.

# %%
plot_feature_pca(model, source.x[:500], target.x[:500], f"{OUT}/features.png")
print(f"wrote {OUT}/features.png\n    look at: the two clouds overlap more on the right (DANN) "
      f"than on the left (source only)")
