"""Structure of the committed notebooks (nbval checks their outputs; this checks their shape)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_introduction.ipynb", "02_ngrams.ipynb", "03_lstm.ipynb", "04_transformer.ipynb", "05_distilbert.ipynb"]


def cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_five_chapters_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_comes_before_setup(notebook):
    code = [c for c in cells(notebook) if c["cell_type"] == "code"]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert re.search(r"^PROFILE = None", source(code[tagged[0]]), re.M)
    setup = [i for i, c in enumerate(code) if "lmcourse.setup(" in source(c)]
    assert setup and setup[0] == tagged[0] + 1, "lmcourse.setup(...) runs right after the parameters"
    assert "profile=PROFILE" in source(code[setup[0]])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_a_clean_offline_run(notebook):
    nb = json.loads(notebook.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # no kernel-choice dialog
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] is not None for c in code), "every code cell was run"
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(counts), "cells were run top to bottom"
    for c in code:
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"stored error in: {source(c)[:60]}"
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert "Traceback" not in text
            assert not re.search(r"/(root|home|tmp|work)/", text), f"absolute path in output: {text[:80]}"
    setup_out = "".join("".join(o.get("text", "")) for c in code if "lmcourse.setup(" in source(c)
                        for o in c["outputs"])
    assert setup_out.startswith("Profile: offline"), setup_out


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_hold_no_run_noise(notebook):
    """make notebooks leaves out timings and widget state (new on every run), so a diff shows only
    real changes; widgets are stored as their one line of text."""
    nb = json.loads(notebook.read_text())
    assert "widgets" not in nb["metadata"]
    for c in nb["cells"]:
        assert "execution" not in c.get("metadata", {}), source(c)[:60]
        for out in c.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), source(c)[:60]


def test_every_chapter_has_a_budget_in_the_readme():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_budget", REPO / "benchmarks" / "notebook_budget.py")
    budget = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(budget)
    table = budget.budgets()
    assert sorted(table) == [p.name for p in NOTEBOOKS]
    assert table["01_introduction.ipynb"] == (15, 1200) and table["02_ngrams.ipynb"] == (20, 1200)
    assert all(seconds <= 90 and mb <= 1200 for seconds, mb in table.values())
