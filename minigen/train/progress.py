"""Progress of every long wait: training steps and the steps of a sampler (DDPM's 1,000 calls).

On a terminal: a tqdm bar. Anywhere else (a job log, CI, nohup, a notebook cell): a plain line
on stderr at most every ``LINE_INTERVAL_S`` seconds and one at the end,

    train: step 120/2000, loss 0.0532, 3.2 steps/s, elapsed 0:37, ETA 9:47

``show`` forces the choice: None (the default) picks by whether stderr is a terminal, "bar" or
True a bar, "lines" plain lines, False nothing. ``listener(show)`` adapts the same to the
``progress`` hook of minigen.models.base, through which samplers report their steps.
"""
import contextlib
import os
import sys
import time

from tqdm.auto import tqdm

LINE_INTERVAL_S = float(os.environ.get("MINIGEN_PROGRESS_SECONDS", "30"))


def mode(show=None):
    """'bar', 'lines' or None (nothing) for the ``show`` argument (see the module docstring)."""
    if show is False:
        return None
    if show is True or show == "bar":
        return "bar"
    if show == "lines":
        return "lines"
    if show is not None:
        raise ValueError(f"progress must be None, True, False, 'bar' or 'lines', got {show!r}")
    return "bar" if bool(getattr(sys.stderr, "isatty", lambda: False)()) else "lines"


def clock(seconds):
    """0:37, 9:47, 1:02:03."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """From ``initial`` to ``total`` steps; ``update(losses)`` advances by one step."""

    def __init__(self, total, initial=0, show=None, description="train", unit="step",
                 interval=None):
        self.mode = mode(show)
        self.total, self.done, self.start_count = total, initial, initial
        self.description, self.unit = description, unit
        self.interval = LINE_INTERVAL_S if interval is None else interval
        self.started = self.last_line = time.perf_counter()
        self.extra = {}
        self.bar = None
        if self.mode == "bar":
            self.bar = tqdm(total=total, initial=initial, desc=description, unit=unit,
                            dynamic_ncols=True, leave=True, file=sys.stderr)

    def update(self, losses=None):
        self.done += 1
        if losses:
            self.extra.update({k: f"{v:.4g}" for k, v in losses.items()})
        if self.bar is not None:
            if losses:
                self.bar.set_postfix(self.extra, refresh=False)
            self.bar.update(1)
        elif self.mode == "lines" and time.perf_counter() - self.last_line >= self.interval:
            self.line()

    def note(self, **values):
        """Values shown beside the losses from now on (e.g. the validation measure)."""
        self.extra.update({k: f"{v:.4g}" if isinstance(v, float) else str(v)
                           for k, v in values.items()})

    def line(self):
        """Print the plain progress line now."""
        now = time.perf_counter()
        elapsed = now - self.started
        rate = (self.done - self.start_count) / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.unit} {self.done}/{self.total}"]
        parts += [f"{k} {v}" for k, v in self.extra.items()]
        parts.append(f"{rate:.3g} {self.unit}s/s")
        parts.append(f"elapsed {clock(elapsed)}")
        if rate > 0 and self.done < self.total:
            parts.append(f"ETA {clock((self.total - self.done) / rate)}")
        print(f"{self.description}: {', '.join(parts)}", file=sys.stderr, flush=True)
        self.last_line = now

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "lines" and self.done > self.start_count:
            self.line()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def listener(show=None):
    """A listener for minigen.models.base.reporting_progress that draws each sampler loop as a
    Progress of its own (None when ``show`` asks for nothing)."""
    if mode(show) is None:
        return None

    @contextlib.contextmanager
    def report(total, description):
        with Progress(total, show=show, description=description) as bar:
            yield bar.update
    return report


@contextlib.contextmanager
def reporting(show=None):
    """Within the block, samplers report their steps as ``show`` says (see ``listener``)."""
    from minigen.models.base import reporting_progress
    with reporting_progress(listener(show)):
        yield
