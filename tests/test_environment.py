"""The launch files agree with pyproject.toml: conda and Binder environments, links, bootstrap cells."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
ENV_FILES = [REPO / "environment.yml", REPO / "binder" / "environment.yml"]
# A CPU-only build may stand in for a package in an environment file.
STAND_INS = {"tensorflow": {"tensorflow", "tensorflow-cpu"}}
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]


def env_requirements(path: Path) -> dict[str, Requirement]:
    """The pip requirements of a conda environment file, by canonical name (options skipped)."""
    spec = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    reqs = [Requirement(line) for line in pip if not line.startswith("-")]
    return {canonicalize_name(r.name): r for r in reqs}


def compatible(a: SpecifierSet, b: SpecifierSet) -> bool:
    """True when some version named in either range satisfies both ranges."""
    probes = {Version(s.version.replace(".*", "")) for s in (*a, *b)} or {Version("0")}
    return any(a.contains(v, prereleases=True) and b.contains(v, prereleases=True) for v in probes)


def test_compatible_detects_disjoint_ranges():
    assert compatible(SpecifierSet(">=2.20"), SpecifierSet("==2.21.0"))
    assert not compatible(SpecifierSet(">=5.15,<6"), SpecifierSet("==4.40"))


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_runtime_dependency_is_in_the_environment_file(path):
    env = env_requirements(path)
    for req in runtime_requirements():
        names = STAND_INS.get(req.name, {req.name})
        found = [env[canonicalize_name(n)] for n in names if canonicalize_name(n) in env]
        assert found, f"{path.name}: {req.name} is missing"
        assert compatible(req.specifier, found[0].specifier), \
            f"{path.name}: {found[0]} is incompatible with pyproject's {req}"


def conda_python(path: Path) -> SpecifierSet:
    """The Python range of a conda environment file (conda's ``python=3.11`` means 3.11.*)."""
    spec = yaml.safe_load(path.read_text())
    python = next(d for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python"))
    rest = python.removeprefix("python")
    return SpecifierSet(f"=={rest[1:]}.*" if re.fullmatch(r"=\d+\.\d+", rest) else rest)


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_environment_python_meets_requires_python(path):
    assert compatible(conda_python(path), SpecifierSet(PYPROJECT["project"]["requires-python"]))


def test_binder_pins_python_3_11_or_3_12():
    # Binder's default Python 3.10 is too old for Keras 3 and transformers 5.
    allowed = conda_python(REPO / "binder" / "environment.yml")
    assert any(allowed.contains(v) for v in ("3.11.9", "3.12.9"))
    assert not allowed.contains("3.10.14")


def test_binder_postbuild_fails_on_errors_and_installs_the_course():
    text = (REPO / "binder" / "postBuild").read_text()
    assert text.startswith("#!/bin/bash") and "set -e" in text
    assert re.search(r"pip install .*-e \.", text)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_first_cell_and_readme_link_colab_and_binder(notebook):
    first = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    readme = (REPO / "README.md").read_text()
    colab = f"https://colab.research.google.com/github/lmcourse/lmcourse/blob/main/notebooks/{notebook.name}"
    binder = f"https://mybinder.org/v2/gh/lmcourse/lmcourse/main?urlpath=lab/tree/notebooks/{notebook.name}"
    for link in (colab, binder):
        assert link in first, f"{notebook.name}: first cell lacks {link}"
        assert link in readme, f"README lacks {link}"


def bootstrap_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    found = ["".join(c["source"]) for c in cells if "LMCOURSE_REF" in "".join(c["source"])]
    assert found, f"{notebook.name} has no Colab bootstrap cell"
    return found[0]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_bootstrap_installs_only_lmcourse_at_the_linked_ref(notebook):
    source = bootstrap_cell(notebook)
    ref = re.search(r'LMCOURSE_REF = "([^"]+)"', source).group(1)
    assert f"/blob/{ref}/notebooks/{notebook.name}" in (REPO / "README.md").read_text()
    assert "--no-deps" in source and "google.colab" in source
    for heavy in ("tensorflow", "torch", "transformers", "datasets"):
        assert heavy not in source.rsplit("--no-deps", 1)[1], heavy


@pytest.mark.parametrize("notebook", NOTEBOOKS[:1], ids=lambda p: p.name)
def test_colab_bootstrap_does_nothing_outside_colab(notebook, monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    exec(bootstrap_cell(notebook), {})
    assert calls == []


def test_colab_bootstrap_runs_pip_on_colab(monkeypatch):
    import subprocess
    import sys
    import types

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **k: calls.append(args))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    exec(bootstrap_cell(NOTEBOOKS[0]), {})
    assert len(calls) == 1 and calls[0][-1].endswith("lmcourse/lmcourse@main")


def test_binder_start_defaults_to_the_offline_profile(tmp_path):
    import os
    import subprocess

    start = REPO / "binder" / "start"
    assert os.access(start, os.X_OK)
    env = {k: v for k, v in os.environ.items() if k != "LMCOURSE_PROFILE"}
    out = subprocess.run([str(start), "sh", "-c", "echo $LMCOURSE_PROFILE"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "offline"
    env["LMCOURSE_PROFILE"] = "cpu"  # an explicit choice wins
    out = subprocess.run([str(start), "sh", "-c", "echo $LMCOURSE_PROFILE"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "cpu"
