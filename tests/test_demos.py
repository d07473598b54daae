"""Every demo runs, in fast mode, and draws; demos/README.md lists every demo.

Demos are discovered (demos/*.py except helpers named _*.py), so a demo added by anyone is run
here without editing this file. Each runs as `python demos/NAME.py` in a subprocess with
MINIGEN_DEMO_FAST=1 (a few seconds) and MINIGEN_DEMO_OUT pointing at a fresh folder.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEMOS = ROOT / "demos"
SCRIPTS = sorted(p for p in DEMOS.glob("*.py") if not p.name.startswith("_"))


def test_there_are_demos():
    assert {"ddpm.py", "gaussian.py", "autograd.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_demo_runs_in_fast_mode_and_writes_a_figure(script, tmp_path):
    env = dict(os.environ, MINIGEN_DEMO_FAST="1", MINIGEN_DEMO_OUT=str(tmp_path),
               MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
                   [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, \
        f"{script.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    figures = list(tmp_path.rglob("*.png"))
    assert figures, f"{script.name} wrote no .png into MINIGEN_DEMO_OUT ({tmp_path})"


def test_demos_readme_lists_every_demo():
    table = (DEMOS / "README.md").read_text()
    listed = set(re.findall(r"`([\w.+-]+\.py)`", table))
    missing = [p.name for p in SCRIPTS if p.name not in listed]
    assert not missing, f"demos/README.md has no line for {', '.join(missing)}"
    stale = sorted(name for name in listed if not (DEMOS / name).exists())
    assert not stale, f"demos/README.md lists demos that do not exist: {', '.join(stale)}"
