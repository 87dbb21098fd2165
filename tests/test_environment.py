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

from lmcourse.maintain import links, location

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
ENV_FILES = [REPO / "environment.yml", REPO / "binder" / "environment.yml"]
# A CPU-only build may stand in for a package in an environment file.
STAND_INS = {"tensorflow": {"tensorflow", "tensorflow-cpu"}}
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]


def requirement_lines(lines: list[str], base: Path) -> list[Requirement]:
    """Requirements from pip's lines, following ``-r FILE`` (relative to ``base``) as pip does."""
    reqs = []
    for line in (raw.split("#", 1)[0].strip() for raw in lines):
        if line.startswith("-r "):
            file = base / line[3:].strip()
            reqs += requirement_lines(file.read_text().splitlines(), file.parent)
        elif line and not line.startswith("-"):
            reqs.append(Requirement(line))
    return reqs


def env_requirements(path: Path) -> dict[str, Requirement]:
    """The pip requirements of a conda environment file, by canonical name (options skipped; a
    ``-r`` file is read relative to the environment file, as conda runs pip there)."""
    spec = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {canonicalize_name(r.name): r for r in requirement_lines(pip, path.parent)}


@pytest.mark.parametrize("lock", ["lock.txt", "colab-lock.txt", "binder.txt"])
def test_every_lock_pins_every_package_exactly(lock):
    reqs = requirement_lines((REPO / "requirements" / lock).read_text().splitlines(), REPO)
    assert len(reqs) > 80
    loose = [str(r) for r in reqs if len(r.specifier) != 1 or next(iter(r.specifier)).operator != "=="]
    assert loose == []
    assert "torch" not in {r.name for r in reqs}  # each machine installs its own build


def test_the_colab_lock_holds_colab_versions():
    colab = {r.name: r for r in requirement_lines((REPO / "tests" / "colab-constraints.txt").read_text().splitlines(), REPO)}
    locked = {r.name: r for r in requirement_lines((REPO / "requirements" / "colab-lock.txt").read_text().splitlines(), REPO)}
    assert {name: str(locked[name].specifier) for name in colab} == {name: str(r.specifier) for name, r in colab.items()}


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
    found = links(*location(), notebook.name)
    for link in (found["colab"], found["binder"]):
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
    assert links(*location(), notebook.name)["install"] in source
    assert "--no-deps" in source and "google.colab" in source
    for heavy in ("tensorflow", "torch", "transformers", "datasets"):
        assert heavy not in source.rsplit("--no-deps", 1)[1], heavy


@pytest.mark.parametrize("notebook", NOTEBOOKS[:1], ids=lambda p: p.name)
def test_colab_bootstrap_does_nothing_outside_colab(notebook, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    exec(bootstrap_cell(notebook), {})
    assert calls == [] and capsys.readouterr().out == ""


def test_colab_bootstrap_says_how_to_install_lmcourse_where_it_is_missing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    exec(bootstrap_cell(NOTEBOOKS[0]), {})
    assert calls == [] and "run `make lab`" in capsys.readouterr().out


def test_colab_bootstrap_runs_pip_on_colab_then_checks_the_versions(monkeypatch, capsys):
    import subprocess
    import sys
    import types

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **k: calls.append(args))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(bootstrap_cell(NOTEBOOKS[0]), {})  # lmcourse is installed: no pip, a version check
    assert calls == [] and capsys.readouterr().out == "Colab's libraries meet the course's version ranges.\n"
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)  # a fresh Colab runtime
    exec(bootstrap_cell(NOTEBOOKS[0]), {})
    repository, ref = location()
    assert len(calls) == 1 and calls[0][-1] == f"lmcourse @ git+https://github.com/{repository}@{ref}"


def test_dependency_problems_say_what_to_upgrade():
    from lmcourse.runtime import dependency_problems

    installed = {"tensorflow": "2.19.0", "keras": "3.13.2", "nltk": "1.0"}
    assert dependency_problems(["tensorflow>=2.20", "keras>=3.13", "nltk>=3.9; extra == 'test'", "torch>=2.11"],
                               installed.get) == [
        "tensorflow 2.19.0 does not meet >=2.20: pip install 'tensorflow>=2.20'",
        "torch is not installed: pip install 'torch>=2.11'"]


def test_relink_points_every_link_at_a_fork(tmp_path):
    import shutil

    from lmcourse import maintain

    for name in ("pyproject.toml", "README.md", "notebooks"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, tmp_path / name)
    old = location()
    before = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    maintain.relink("someone/course-fork", "v2", tmp_path)
    assert maintain.location(tmp_path) == ("someone/course-fork", "v2")
    for path, text in before.items():
        after = path.read_text()
        assert f"/{old[0]}/" not in after and f'"{old[0]}"' not in after and f"github.com/{old[0]}" not in after, path
        assert after.count("someone/course-fork") == sum(text.count(o) for o in (old[0],)), path
    for notebook in sorted((tmp_path / "notebooks").glob("*.ipynb")):
        found = links("someone/course-fork", "v2", notebook.name)
        text = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
        assert found["colab"] in text and found["binder"] in text and found["install"] in text
        assert found["colab"] in (tmp_path / "README.md").read_text()
    with pytest.raises(ValueError, match="REPO must be OWNER/NAME"):
        maintain.relink("not a repo", "main", tmp_path)


def test_binder_start_defaults_to_the_offline_profile(tmp_path):
    import os
    import subprocess

    start = REPO / "binder" / "start"
    assert os.access(start, os.X_OK)
    env = {k: v for k, v in os.environ.items() if k != "LMCOURSE_PROFILE"}
    out = subprocess.run([str(start), "sh", "-c", "echo $LMCOURSE_PROFILE"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "offline"
    caps = subprocess.run([str(start), "sh", "-c", "echo $OMP_NUM_THREADS $TF_NUM_INTRAOP_THREADS $MALLOC_ARENA_MAX"],
                          env=env, capture_output=True, text=True, check=True).stdout
    assert caps.split() == ["2", "2", "2"]
    env["LMCOURSE_PROFILE"] = "cpu"  # an explicit choice wins
    out = subprocess.run([str(start), "sh", "-c", "echo $LMCOURSE_PROFILE"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "cpu"
