# %% [markdown]
# # CycleGAN: translation from unpaired images (lecture §5.4)
#
# Two generators G: A -> B and F: B -> A, two PatchGAN discriminators, least-squares adversarial
# losses, and the cycle-consistency loss
#
#     L_cyc = E ||F(G(a)) - a||_1 + E ||G(F(b)) - b||_1      (weight lambda = 10)
#
# which keeps the content of an image when only its style may change. Here A is mnist5k and B
# its inverted twin; the pairs are never shown together in training (domain B is re-indexed by
# a derangement). A shipped classifier of domain B checks that G(a) still shows a's digit. About
# three minutes on a laptop CPU; `MINIGEN_DEMO_FAST=1` cuts it to seconds.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigen as mg
from minigen import data, models
from minigen.models.cyclegan import ImagePool
from minigen.train import Trainer
from minigen.train.plots import image_grid, smooth

from _demo import figures, save, steps

OUT = figures("cyclegan")
STEPS = steps(400, 2)
mg.manual_seed(0)

# %% [markdown]
# ## 1. Train on the unpaired domains

# %%
train = data.load("mnist5k-inverted", "train")
model = models.create("cyclegan", train)
trainer = Trainer(model, train, batch_size=8, lr=2e-4, steps=STEPS)
for _ in range(STEPS):
    trainer.train_step()
fig, ax = plt.subplots(figsize=(6, 3.2))
for name in ("cycle", "G_adv", "D"):
    record = trainer.history[name]
    ax.plot(record["step"], smooth(record["value"], 10), label=name)
ax.set_xlabel("step")
ax.legend()
save(fig, OUT, "losses.png", "the cycle loss falls fast; the adversarial losses hover, as the "
                             "two players balance")

# %% [markdown]
# ## 2. Translations and round trips
# Rows: a, G(a), F(G(a)), then b, F(b), G(F(b)) for test images of both domains.

# %%
model.eval()
source, target = data.load_pair("mnist5k-inverted", "test", n=10)
with mg.no_grad():
    a, b = mg.tensor(source.x), mg.tensor(target.x)
    g_a, f_b = model.translate(a, "AB"), model.translate(b, "BA")
    rows = [a, g_a, model.translate(g_a, "BA"), b, f_b, model.translate(f_b, "AB")]
fig, ax = plt.subplots(figsize=(8, 5))
ax.imshow(image_grid(np.concatenate([r.numpy() for r in rows]), 10)[..., 0], cmap="gray")
ax.set_yticks([15 + 29 * i for i in range(6)])
ax.set_yticklabels(["a", "G(a)", "F(G(a))", "b", "F(b)", "G(F(b))"])
ax.set_xticks([])
save(fig, OUT, "translations.png", "G(a) looks like the inverted digit, F(G(a)) like a again")
with mg.no_grad():
    metrics = model.extra_metrics(data.load("mnist5k-inverted", "test"))
for key, value in metrics.items():
    print(f"{key:20s} {value:.3f}")

# %% [markdown]
# ## 3. The image pool
# Once its 50 places are full, a fake goes to the discriminator with probability 1/2, otherwise
# an older fake does: the discriminator is trained against a history of generators.

# %%
pool = ImagePool((1, 1, 1), size=50)
returned_old = [float(pool.query(mg.full((1, 1, 1, 1), float(k))).item() != k)
                for k in range(400)]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.cumsum(returned_old) / np.arange(1, 401))
ax.axhline(0.5, color="gray", linestyle=":")
ax.set_xlabel("queries")
ax.set_ylabel("share of older fakes returned")
save(fig, OUT, "pool.png", "0 while the pool fills (50 queries), then it tends to 1/2")
