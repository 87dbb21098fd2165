"""Keeping the course's files in order: quiet notebook diffs, and where the course lives.

    python -m lmcourse.maintain quiet notebooks/02_ngrams.ipynb   # after a re-run (make notebooks)
    python -m lmcourse.maintain relink OWNER/NAME REF             # make relink REPO=... REF=...
    python -m lmcourse.maintain binder-requirements               # what make lock pins for Binder

The repository's location (GitHub owner/name and git ref) has one home: ``[tool.lmcourse]`` in
pyproject.toml. The Colab and Binder badges, the notebooks' Colab install cells, the README and
``[project.urls]`` are derived from it; ``relink`` rewrites them all, and the tests read the setting.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# --- quiet diffs ----------------------------------------------------------------------------------
def quiet(path: Path) -> None:
    """Drop what changes on every run without meaning anything: cell timings, the stored widget
    state, and widget views (their model ids are new each run). Each widget still shows as its
    one line of text, which nbval compares."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        for out in cell.get("outputs", []):
            out.get("data", {}).pop(WIDGET_VIEW, None)
            out.get("metadata", {}).pop(WIDGET_VIEW, None)
    write_notebook(path, nb)


def write_notebook(path: Path, nb: dict) -> None:
    """Write as Jupyter does (nbformat's layout), so that only real changes show in a diff."""
    path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --- where the course lives -----------------------------------------------------------------------
def location(root: Path = REPO) -> tuple[str, str]:
    """(owner/name, ref) from ``[tool.lmcourse]`` in pyproject.toml."""
    settings = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["lmcourse"]
    return settings["repository"], settings["ref"]


def links(repository: str, ref: str, notebook: str) -> dict[str, str]:
    """The links to one notebook: Colab, Binder and the install line of its first code cell."""
    return {"colab": f"https://colab.research.google.com/github/{repository}/blob/{ref}/notebooks/{notebook}",
            "binder": f"https://mybinder.org/v2/gh/{repository}/{ref}?urlpath=lab/tree/notebooks/{notebook}",
            "install": f'LMCOURSE_REPO, LMCOURSE_REF = "{repository}", "{ref}"'}


def rewrites(old: tuple[str, str], new: tuple[str, str]) -> list[tuple[str, str]]:
    (a, r), (b, s) = old, new
    return [(f"github/{a}/blob/{r}/", f"github/{b}/blob/{s}/"), (f"gh/{a}/{r}?", f"gh/{b}/{s}?"),
            (f'LMCOURSE_REPO, LMCOURSE_REF = "{a}", "{r}"', f'LMCOURSE_REPO, LMCOURSE_REF = "{b}", "{s}"'),
            (f"https://github.com/{a}", f"https://github.com/{b}")]


def relink(repository: str, ref: str, root: Path = REPO) -> list[Path]:
    """Point the setting, badges, install cells, README and project URLs at ``repository`` and ``ref``."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository or ""):
        raise ValueError(f"REPO must be OWNER/NAME, got {repository!r}")
    if not re.fullmatch(r"[\w./-]+", ref or ""):
        raise ValueError(f"REF must be a branch, tag or commit, got {ref!r}")
    old = location(root)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    text = re.sub(r'(?m)^repository = ".*"$', f'repository = "{repository}"', text, count=1)
    text = re.sub(r'(?m)^ref = ".*"$', f'ref = "{ref}"', text, count=1)
    pyproject.write_text(text.replace(f"https://github.com/{old[0]}", f"https://github.com/{repository}"))
    changed = [pyproject]
    pairs = rewrites(old, (repository, ref))

    def rewrite(text: str) -> str:
        for a, b in pairs:
            text = text.replace(a, b)
        return text

    readme = root / "README.md"
    if rewrite(text := readme.read_text(encoding="utf-8")) != text:
        readme.write_text(rewrite(text), encoding="utf-8")
        changed.append(readme)
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        sources = ["".join(cell["source"]) for cell in nb["cells"]]
        if [rewrite(src) for src in sources] != sources:
            for cell, src in zip(nb["cells"], sources):
                cell["source"] = rewrite(src).splitlines(keepends=True)
            write_notebook(path, nb)
            changed.append(path)
    return changed


def binder_requirements(root: Path = REPO) -> list[str]:
    """What Binder installs: the course's libraries and its offline stand-in, TensorFlow's CPU-only
    build instead of the full one (a leaner image), and not JupyterLab (the base image has it)."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["offline"]
    return [re.sub(r"^tensorflow\b", "tensorflow-cpu", line) for line in wanted]


def main(argv: list[str]) -> int:
    if argv[:1] == ["quiet"] and len(argv) > 1:
        for name in argv[1:]:
            quiet(Path(name))
        return 0
    if argv == ["binder-requirements"]:
        print("\n".join(binder_requirements()))
        return 0
    if argv[:1] == ["relink"] and len(argv) == 3:
        for path in relink(argv[1], argv[2]):
            print(f"rewrote {path.relative_to(REPO)}")
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
