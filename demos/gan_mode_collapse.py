# %% [markdown]
# # Mode collapse of the GAN, and WGAN-GP beside it (lecture §4.9-§4.10, §5.2)
#
# ring8 (8 Gaussians on a circle, sigma 0.02) and grid25 (25 Gaussians on a 5x5 grid, sigma
# 0.05) make mode collapse countable: a sample is high quality when it lies within 3 sigma of a
# centre, and a mode is covered when it holds a fair share of those samples
# (minigen.metrics.mode_coverage, the VEEGAN / PacGAN protocol). Three runs per dataset:
#
#   gan            the shipped defaults (non-saturating loss, learning rate decayed to 0, samples
#                  from a moving average of G's weights)
#   gan, plain     the textbook loop: constant learning rate 1e-3, samples from the last G
#   wgan-gp        the shipped defaults
#
# and, over training,
#
# 1. the number of modes covered and the share of high-quality samples,
# 2. the generated points themselves (a grid: one row per run, one column per checkpoint),
# 3. the critic's Wasserstein estimate E f(x) - E f(G(z)) of WGAN-GP, which falls as the samples
#    improve (§5.2), beside the sliced Wasserstein distance of the samples to the data.
#
# The plain GAN's samples hop from mode to mode (§4.10); the decayed learning rate and the
# weight average damp that oscillation, and WGAN-GP's critic gives G a signal towards every mode.
# The GAN's discriminator loss says nothing about sample quality (§4.9); the critic's estimate
# does.

# %%
import numpy as np

import minigen as mg
from minigen import backend, data, metrics, models
from minigen.train import Trainer

from _demo import figures, save, steps

out = figures("gan_mode_collapse")
# run label -> (model name, options, learning rate or None for the default)
RUNS = {"gan": ("gan", {}, None),
        "gan, plain": ("gan", {"lr_schedule": "constant", "ema_decay": 0.0}, 1e-3),
        "wgan-gp": ("wgan-gp", {}, None)}
MODELS = tuple(RUNS)
DATASETS = ("ring8", "grid25")
STEPS = {"ring8": steps(4000, 60), "grid25": steps(4000, 60)}
CHECKPOINTS = 6


def run(label, dataset):
    """Train run ``label`` on ``dataset``; coverage and samples at checkpoints."""
    name, options, lr = RUNS[label]
    mg.manual_seed(0)
    train, test = data.load(dataset), data.load(dataset, "test")
    config = models.train_defaults(name, dataset)
    model = models.create(name, train, **options)
    trainer = Trainer(model, train, config["batch_size"], lr or config["lr"], seed=0,
                      steps=STEPS[dataset])
    every = max(1, STEPS[dataset] // CHECKPOINTS)
    trace = {"step": [], "modes": [], "hq": [], "swd": [], "points": []}
    while trainer.step < STEPS[dataset]:
        trainer.train_step()
        if trainer.step % every == 0 or trainer.step == STEPS[dataset]:
            points = backend.to_numpy(trainer.sample(1000, seed=1))
            cover = metrics.mode_coverage(points, test.centers, test.sigma)
            trace["step"].append(trainer.step)
            trace["modes"].append(cover["modes_covered"])
            trace["hq"].append(cover["hq_fraction"])
            trace["swd"].append(metrics.sliced_wasserstein(points, test.x, seed=0))
            trace["points"].append(points)
    trace["history"] = trainer.history
    trace["num_modes"] = len(test.centers)
    print(f"{label:10s} {dataset}: modes covered {trace['modes']} of {trace['num_modes']}, "
          f"high quality {[round(h, 2) for h in trace['hq']]}")
    return trace


traces = {(m, d): run(m, d) for d in DATASETS for m in MODELS}

# %% [markdown]
# ## 1. Modes covered and high-quality samples over training

# %%
from matplotlib.figure import Figure

fig = Figure(figsize=(10, 6))
axes = fig.subplots(2, len(DATASETS), squeeze=False)
for j, dataset in enumerate(DATASETS):
    for name in MODELS:
        t = traces[name, dataset]
        axes[0, j].plot(t["step"], t["modes"], "o-", label=name)
        axes[1, j].plot(t["step"], t["hq"], "o-", label=name)
    axes[0, j].axhline(traces[MODELS[0], dataset]["num_modes"], color="gray", linestyle=":")
    axes[0, j].set_title(dataset)
    axes[0, j].set_ylabel("modes covered")
    axes[1, j].set_ylabel("high-quality fraction")
    axes[1, j].set_xlabel("training step")
    axes[0, j].legend()
save(fig, out, "modes_over_training.png", "how many modes each run covers, and whether the count "
     "climbs steadily or goes up and down as G hops between modes")

# %% [markdown]
# ## 2. The generated points over training

# %%
for dataset in DATASETS:
    test = data.load(dataset, "test")
    columns = len(traces[MODELS[0], dataset]["step"])
    fig = Figure(figsize=(2.2 * columns, 2.3 * len(MODELS)))
    axes = fig.subplots(len(MODELS), columns, squeeze=False)
    for i, name in enumerate(MODELS):
        t = traces[name, dataset]
        for k, (step, points) in enumerate(zip(t["step"], t["points"])):
            ax = axes[i, k]
            ax.scatter(test.centers[:, 0], test.centers[:, 1], s=12, marker="x", color="black")
            ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, color="tab:orange")
            lim = 1.5 * np.abs(test.centers).max()
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name} step {step}", fontsize=8)
    save(fig, out, f"points_{dataset}.png", f"{dataset}: where each run's samples sit over "
         f"training (crosses: the modes); a collapsed G gathers on few crosses and moves")

# %% [markdown]
# ## 3. The critic's Wasserstein estimate falls as the samples improve (§5.2)

# %%
fig = Figure(figsize=(10, 3.8))
axes = fig.subplots(1, len(DATASETS), squeeze=False)[0]
for ax, dataset in zip(axes, DATASETS):
    t = traces["wgan-gp", dataset]
    w = t["history"]["wasserstein"]
    window = max(1, len(w["value"]) // 40)
    smooth = np.convolve(w["value"], np.ones(window) / window, mode="valid")
    ax.plot(w["step"][window - 1:], smooth, label="critic: E f(x) - E f(G(z))")
    ax.plot(t["step"], t["swd"], "o-", label="sliced Wasserstein(samples, data)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_title(f"WGAN-GP on {dataset}")
    ax.legend(fontsize=8)
save(fig, out, "wasserstein_estimate.png", "the critic's estimate of W(p_data, p_g) and an "
     "independent distance of the samples to the data fall together")
