"""What every demo shares: fast mode, the figure folder, and saving a figure with a note.

    from _demo import FAST, figures, save
    out = figures("ddpm")             # $MINIGEN_DEMO_OUT, else demos/figures/ddpm/
    save(fig, out, "chain.png", "the reverse chain: noise at the left, digits at the right")

MINIGEN_DEMO_FAST=1 makes each demo cut its steps so it runs in seconds (CI runs every demo so,
to keep them from rotting); without it a demo runs in at most a few minutes on a laptop CPU.
Files whose name starts with an underscore are helpers, not demos.
"""
import os

import matplotlib

matplotlib.use("Agg")   # demos write files; a notebook front end shows them inline anyway

FAST = os.environ.get("MINIGEN_DEMO_FAST") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))


def figures(name):
    """The folder this demo writes to, created if needed."""
    out = os.environ.get("MINIGEN_DEMO_OUT") or os.path.join(HERE, "figures", name)
    os.makedirs(out, exist_ok=True)
    return out


def steps(full, fast):
    """``full`` normally, ``fast`` under MINIGEN_DEMO_FAST=1."""
    return fast if FAST else full


def save(figure, out, filename, what_to_look_at):
    """Write ``figure`` to out/filename and say what it shows."""
    path = os.path.join(out, filename)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"wrote {path}\n    look at: {what_to_look_at}")
    return path
