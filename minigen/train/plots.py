"""Pictures of a run: loss.png (losses and the validation measure against steps), samples.png
(image grid or 2-D scatter), and rows of images (translations.png, reconstructions.png).

matplotlib is imported inside the functions and drawn through its Agg canvas directly (no pyplot,
no global backend switch), so ``import minigen`` stays fast and plotting works without a display.
"""
import numpy as np

from minigen import backend


def smooth(values, window):
    """Trailing moving average: out[i] = mean(values[max(0, i - window + 1) .. i])."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or values.size == 0:
        return values
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def plot_losses(history, path, title=None, validation=None, best=None):
    """One panel per loss in ``history`` ({name: {"step": [...], "value": [...]}}): the raw values
    faint, a moving average over ~2% of the steps on top. ``validation`` ({"step", "value"}, the
    held-out measure) gets a panel of its own below, with the ``best`` (value, step) marked."""
    names = [n for n in history if len(history[n]["step"])]
    held_out = validation is not None and len(validation["step"]) > 0
    panels = max(1, len(names) + held_out)
    figure = _figure(7, 1.0 + 2.2 * panels)
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        steps, values = np.asarray(history[name]["step"]), np.asarray(history[name]["value"])
        ax.plot(steps, values, color="tab:blue", alpha=0.25, linewidth=0.8)
        ax.plot(steps, smooth(values, max(1, len(values) // 50)), color="tab:blue", linewidth=1.6)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    if held_out:
        ax = axes[-1]
        ax.plot(validation["step"], validation["value"], color="tab:orange", marker="o",
                markersize=3, linewidth=1.2)
        if best is not None:
            ax.scatter([best[1]], [best[0]], s=60, marker="*", color="black", zorder=3,
                       label=f"best {best[0]:.4g} at step {best[1]}")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_ylabel("validation\n(held-out train)")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    if title:
        axes[0].set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    return path


def image_grid(images, ncols, pad=1):
    """(N, C, H, W) images in [-1, 1] -> one grid array in [0, 1] of shape
    (rows * (H + pad) + pad, ncols * (W + pad) + pad, C)."""
    images = np.clip((backend.to_numpy(images).astype(np.float64) + 1.0) / 2.0, 0.0, 1.0)
    n, c, h, w = images.shape
    nrows = -(-n // ncols)
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c))
    for i in range(n):
        r, col = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top:top + h, left:left + w] = images[i].transpose(1, 2, 0)
    return grid


def plot_images(images, path, labels=None, title=None):
    """A grid of images; with ``labels`` (sorted by class) one labelled row per class."""
    images = backend.to_numpy(images)
    if labels is not None:
        labels = backend.to_numpy(labels)
        classes = list(dict.fromkeys(labels.tolist()))
        ncols = max(int(np.sum(labels == k)) for k in classes)
    else:
        classes, ncols = None, int(np.ceil(np.sqrt(len(images))))
    grid = image_grid(images, ncols)
    height, width = grid.shape[:2]
    scale = 6.0 / max(height, width)
    figure = _figure(max(2.0, width * scale) + 0.6, max(2.0, height * scale) + 0.4)
    ax = figure.add_subplot(1, 1, 1)
    ax.imshow(grid[..., 0] if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    if classes is not None:
        h = images.shape[2]
        ax.set_yticks([1 + r * (h + 1) + h / 2 for r in range(len(classes))])
        ax.set_yticklabels([str(k) for k in classes])
        ax.set_ylabel("label")
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    return path


def plot_rows(rows, path, names, title=None):
    """Rows of images side by side (translations a, G(a), F(G(a)); reconstructions x, x_hat):
    ``rows`` is a list of (N, C, H, W) arrays in [-1, 1], one per row, each named in ``names``."""
    rows = [backend.to_numpy(r) for r in rows]
    grid = image_grid(np.concatenate(rows), ncols=len(rows[0]))
    height, width = grid.shape[:2]
    scale = 6.0 / max(height, width)
    figure = _figure(max(2.0, width * scale) + 1.2, max(2.0, height * scale) + 0.4)
    ax = figure.add_subplot(1, 1, 1)
    ax.imshow(grid[..., 0] if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    h = rows[0].shape[2]
    ax.set_xticks([])
    ax.set_yticks([1 + r * (h + 1) + h / 2 for r in range(len(rows))])
    ax.set_yticklabels(names)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    return path


def plot_points(samples, path, data=None, centers=None, title=None):
    """2-D samples (orange) under the data's points (blue) and the mode centres (black crosses)."""
    samples = backend.to_numpy(samples)
    figure = _figure(5.5, 5.5)
    ax = figure.add_subplot(1, 1, 1)
    ax.scatter(samples[:, 0], samples[:, 1], s=3, color="tab:orange", alpha=0.5, label="samples")
    if data is not None:   # on top: the toy modes are narrow and would hide under the samples
        ax.scatter(data[:, 0], data[:, 1], s=1, color="tab:blue", alpha=0.6, label="data")
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", color="black", label="modes")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", markerscale=3, fontsize=8)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    return path


def plot_samples(samples, path, dataset, labels=None, title=None):
    """samples.png for ``dataset`` (a minigen.data.Dataset): image grid or 2-D scatter."""
    if dataset.is_image:
        return plot_images(samples, path, labels=labels, title=title)
    return plot_points(samples, path, data=dataset.x[:2000], centers=dataset.centers, title=title)
