"""Each chapter's run time and peak memory in the offline profile, against the budget in the README.

Runs every notebook top to bottom in a fresh kernel, as `make notebooks` does, and reports the
wall time of the whole run (kernel start included) and the kernel's peak resident memory, next to
the budget table in README.md ("Budgets"). As the peer, the same kernel runs an empty notebook (the
cost of starting Python and Jupyter, the floor no chapter can go below). Exits 1 when a chapter is
over its budget.

    python benchmarks/notebook_budget.py [--binder] [notebooks/03_lstm.ipynb ...]

--binder runs the kernels with binder/start's environment (capped thread pools and malloc arenas).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs in a child process, so that the kernel is its only child and ru_maxrss is the kernel's peak.
RUN_ONE = """
import json, resource, sys, time
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def budgets(readme: Path = REPO / "README.md") -> dict[str, tuple[float, float]]:
    """{notebook file: (seconds, MB)} from the README's budget table (one source for the numbers)."""
    rows = re.findall(r"^\| \d+ \| `(\w+\.ipynb)` \| ≤ (\d+) s \| ≤ ([\d.]+) GB \|", readme.read_text(), re.M)
    if not rows:
        raise SystemExit("notebook_budget: no budget table in README.md")
    return {name: (float(seconds), float(gb) * 1000) for name, seconds, gb in rows}


def binder_environment() -> dict[str, str]:
    """The environment binder/start sets (its `export NAME="${NAME:-value}"` lines)."""
    text = (REPO / "binder" / "start").read_text()
    return dict(re.findall(r'^export (\w+)="\$\{\w+:-([^}]*)\}"', text, re.M))


def run(notebook: Path, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", RUN_ONE, str(notebook), str(notebook.parent)],
                          env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{notebook.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--binder", action="store_true", help="binder/start's thread and memory settings")
    args = parser.parse_args()
    limits = budgets()
    notebooks = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    env = {**os.environ, "LMCOURSE_PROFILE": "offline", **(binder_environment() if args.binder else {})}
    empty = REPO / "notebooks" / ".budget-empty.ipynb"
    empty.write_text(json.dumps({"cells": [], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                          "language": "python"}},
                                 "nbformat": 4, "nbformat_minor": 5}))
    try:
        floor = run(empty, env)
    finally:
        empty.unlink()
    print(f"{'chapter':<24} {'wall':>7} {'budget':>7} {'peak memory':>12} {'budget':>9}   vs an empty kernel"
          + ("  (binder/start's settings)" if args.binder else ""))
    over = []
    for notebook in notebooks:
        seconds_limit, mb_limit = limits[notebook.name]
        got = run(notebook, env)
        ok = got["seconds"] <= seconds_limit and got["peak_mb"] <= mb_limit
        over += [] if ok else [notebook.name]
        print(f"{notebook.name:<24} {got['seconds']:6.1f}s {seconds_limit:6.0f}s {got['peak_mb']:9,.0f} MB "
              f"{mb_limit:6,.0f} MB   {got['seconds'] / floor['seconds']:5.1f}x time, "
              f"{got['peak_mb'] / floor['peak_mb']:4.1f}x memory{'' if ok else '   OVER BUDGET'}")
    print(f"empty kernel: {floor['seconds']:.1f} s, {floor['peak_mb']:,.0f} MB")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
