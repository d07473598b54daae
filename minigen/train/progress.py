"""The progress bar of a training run: step, the latest losses and steps per second (tqdm).

It draws only when asked to or when stderr is a terminal, so logs of batch jobs and test output
stay clean.
"""
import sys

from tqdm.auto import tqdm


def should_show(progress=None):
    """``progress`` when it is True/False; otherwise whether stderr is an interactive terminal."""
    if progress is not None:
        return bool(progress)
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class Progress:
    """A bar from ``initial`` to ``total`` steps; ``update(losses)`` advances it by one step."""

    def __init__(self, total, initial=0, show=None, description="train"):
        self.bar = tqdm(total=total, initial=initial, disable=not should_show(show),
                        desc=description, unit="step", dynamic_ncols=True, leave=True)

    def update(self, losses):
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
