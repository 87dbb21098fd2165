"""The course in a real browser: JupyterLab driven by Playwright in Debian's Chromium.

A student opens a chapter, runs every cell and types into a widget. These tests do the same and
check what the widget shows against the model computed here. Set-up: Debian's ``chromium``
(``make browser`` installs it with apt-get, as root; Playwright's own browser download does not work
offline; without it these tests skip and say so, and fail in CI) and the ``playwright`` Python
package (the ``test`` extra). Each widget is
photographed into ``artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("LMCOURSE_CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium keeps dialling Google's hosts, which this closed network
# refuses many times a second.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--no-first-run", "--disable-quic", "--disable-component-update", "--disable-sync"]

# Seconds. Running a whole notebook is the slow part; the rest takes a few seconds. Each chapter's
# budget in the offline profile is 2 minutes; LMCOURSE_E2E_RUN_ALL_S overrides these limits.
SERVER_START_S = 90
KERNEL_READY_S = 90
RUN_ALL_S = {"02_ngrams.ipynb": 120, "05_distilbert.ipynb": 300}
WIDGET_UPDATE_S = 30
UI_MS = 30_000

EXPLORER_INPUT = "input[placeholder='Type a few words']"  # the Text of widgets.Explorer
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


# --- set-up: Chromium, JupyterLab, the browser ---------------------------------------------------
@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; the tests never install anything themselves (`make browser` does, as root)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} for the browser test: run `make browser` as root "
                    "(it runs `apt-get install chromium`), or set LMCOURSE_CHROMIUM")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


@dataclass
class Lab:
    """A running JupyterLab server on a temporary copy of notebooks/."""

    base: str
    token: str
    root: Path
    log: Path

    def url(self, path: str) -> str:
        return f"{self.base}{path}{'&' if '?' in path else '?'}token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(self.url(f"/api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (each runs in its own process group, not the server's)."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def lab_settings(settings: Path) -> None:
    """User settings that keep JupyterLab from asking questions or hiding cells from the test."""
    # fetchNews "none" (the default) pops up "Would you like to get notified about official
    # Jupyter news?"; "false" answers it in advance.
    write_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
               {"fetchNews": "false", "checkForUpdates": False})
    # The default windowing leaves cells far off screen out of the page; render them all.
    write_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
               {"windowingMode": "none"})


# Module scope: the server and the browser are gone before the notebooks' own checks start.
@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a random token, over a temporary copy of notebooks/."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    lab_settings(tmp / "settings")
    port, token = free_port(), secrets.token_hex(24)
    # Offline profile, bundled data only: what the committed notebooks are run with.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JUPYTER") and k not in ("LMCOURSE_DATA_DIR", "LMCOURSE_PROFILE")}
    env.update(
        LMCOURSE_PROFILE="offline",
        # Our own config, data and runtime folders: nothing from ~/.jupyter leaks in, and the
        # kernel named "python3" is this interpreter's (the venv's spec, or ipykernel's own).
        JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
    )
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
           f"--LabApp.user_settings_dir={tmp / 'settings'}",
           f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
           "--MappingKernelManager.default_kernel_name=python3"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp / "jupyterlab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    running = Lab(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{running.log_tail()}")
            try:
                running.api("status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in {SERVER_START_S} s:\n{running.log_tail()}")
                time.sleep(0.5)
        specs = running.api("kernelspecs")["kernelspecs"]
        assert "python3" in specs, f"no 'python3' kernel (the notebooks' kernelspec): {sorted(specs)}"
        yield running
    finally:
        try:
            if server.poll() is None:
                running.shutdown_kernels()
        except OSError:
            pass
        stop_group(server)


def stop_group(process: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after ``grace_s``."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: Path, tmp_path_factory):
    """A headless Chromium with a fresh profile, closed at the end whatever happens."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not "
                                   "installed (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000}, timeout=60_000)
        try:
            context.set_default_timeout(UI_MS)
            yield context
        finally:
            context.close()


# --- driving a notebook -----------------------------------------------------------------------
def code_cells_with_source(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip())


def errors_in_page(page) -> list[str]:
    """Texts of outputs a student would read as an error: tracebacks, widgets that failed."""
    found = [t for t in page.locator(ERROR_OUTPUT).all_inner_texts()
             if "Traceback" in t or re.search(r"\w+Error\b", t)]
    found += page.get_by_text("Error displaying widget").all_inner_texts()
    return found


def open_and_run(page, lab: Lab, name: str) -> None:
    """Open ``name`` in its own workspace, wait for its kernel, Run > Run All Cells, wait for the end."""
    notebook = lab.root / name
    assert json.loads(notebook.read_text())["metadata"]["kernelspec"]["name"] == "python3"
    workspace = re.sub(r"\W", "-", name)
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{name}?reset"), timeout=60_000)
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(state="visible", timeout=60_000)
    wait_until(page, lambda: kernel_idle(page), KERNEL_READY_S, f"the kernel of {name} to start")

    # Start from empty prompts, so "every code cell has a number" means "every cell ran now".
    click_menu(page, "Edit", "Clear Outputs of All Cells")
    wait_until(page, lambda: numbered_prompts(page) == 0, 10, "outputs to clear")
    click_menu(page, "Run", "Run All Cells")
    expected = code_cells_with_source(notebook)
    limit_s = float(os.environ.get("LMCOURSE_E2E_RUN_ALL_S", RUN_ALL_S[name]))

    def finished() -> bool:
        errors = errors_in_page(page)
        assert not errors, f"{name}: a cell failed:\n" + "\n---\n".join(errors)[:4000]
        return numbered_prompts(page) >= expected and kernel_idle(page)

    wait_until(page, finished, limit_s, f"all {expected} code cells of {name} to run",
               lambda: f"{numbered_prompts(page)} of {expected} ran")


def click_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def numbered_prompts(page) -> int:
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
    return sum(1 for p in prompts if re.fullmatch(r"\s*\[\d+\]:\s*", p))


def kernel_idle(page) -> bool:
    """A kernel is connected and idle. (The toolbar's indicator also says "idle" before there is
    a kernel at all, so the status bar's "Python 3 (...) | Idle" must agree.)"""
    indicator = page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator").first
    status_bar = " ".join(page.locator(".jp-StatusBar-Widget").all_inner_texts())
    return (indicator.count() > 0 and indicator.get_attribute("data-status") == "idle"
            and "No Kernel" not in status_bar and re.search(r"\| Idle\b", status_bar) is not None)


def wait_until(page, condition, timeout_s: float, what: str, progress=lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        assert not dialogs, f"a dialog blocks the page while waiting for {what}: {dialogs}"
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what} {progress()}".rstrip())
        page.wait_for_timeout(250)


def widget_box(page):
    """The Explorer's VBox (title, text box, message, bars, word buttons)."""
    return page.locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.locator(EXPLORER_INPUT)).first


def shown_bars(box) -> list[tuple[str, str]]:
    """(label, percentage) of each bar as the page shows them."""
    return [tuple(cells) for cells in box.locator(".widget-html table tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].innerText.trim(), r.cells[2].innerText.trim()])")]


def wait_for_bars(page, box, expected: list[tuple[str, str]], what: str) -> None:
    wait_until(page, lambda: shown_bars(box) == expected, WIDGET_UPDATE_S, what,
               lambda: f"\nexpected {expected}\nshown    {shown_bars(box)}")


def wait_for_new_bars(page, box, before: list[tuple[str, str]], what: str) -> list[tuple[str, str]]:
    """The bars once they differ from ``before``, the kernel is idle and they stay put for 1 s."""
    def settled() -> bool:
        first = shown_bars(box)
        if first in ([], before) or not kernel_idle(page):
            return False
        page.wait_for_timeout(1000)
        return shown_bars(box) == first

    wait_until(page, settled, WIDGET_UPDATE_S, what, lambda: f"(still {shown_bars(box)})")
    return shown_bars(box)


def retype(field, text: str) -> None:
    """Clear the text box and type ``text`` key by key, as a student would."""
    field.click()
    field.press("Control+A")
    field.press("Backspace")
    field.press_sequentially(text, delay=15)


def finish_page(page, box, shot: str) -> None:
    """No errors or questions on the page; the widget photographed into artifacts/screenshots/."""
    assert not errors_in_page(page)
    assert page.get_by_text("official Jupyter news").count() == 0, "the news pop-up is showing"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    box.scroll_into_view_if_needed()
    box.screenshot(path=str(SCREENSHOTS / shot), timeout=UI_MS)


@pytest.fixture()
def page(browser, lab: Lab):
    page = browser.new_page()
    try:
        yield page
    finally:
        page.close()
        try:
            lab.shutdown_kernels()  # the next notebook gets the memory back
        except OSError:
            pass


# --- the tests --------------------------------------------------------------------------------
def test_ngram_explorer_in_jupyterlab(page, lab: Lab):
    from lmcourse.data import load_course_corpus
    from lmcourse.ngrams import NGramModel

    kn3 = NGramModel(3, "kneser-ney").fit(load_course_corpus().train)

    def expected(prefix: str) -> list[tuple[str, str]]:
        return [(word, f"{p:.1%}") for word, p in kn3.next_words(prefix, 8)]

    open_and_run(page, lab, "02_ngrams.ipynb")
    box = widget_box(page)
    field = box.locator(EXPLORER_INPUT)
    assert field.input_value() == "the weather was"
    wait_for_bars(page, box, expected("the weather was"), "the explorer's first bars")

    prefix = "we went to the"
    assert expected(prefix) != expected("the weather was")
    retype(field, prefix)
    wait_for_bars(page, box, expected(prefix), f"the bars for {prefix!r}")

    buttons = box.locator(".widget-button")
    labels = [label.strip() for label in buttons.all_inner_texts()]
    assert labels == [word for word, _ in expected(prefix)]
    word = next(w for w in labels if w.isalpha())
    buttons.nth(labels.index(word)).click()
    wait_until(page, lambda: field.input_value() == f"{prefix} {word}", WIDGET_UPDATE_S,
               f"{word!r} to be appended", lambda: f"(text is {field.input_value()!r})")
    wait_for_bars(page, box, expected(f"{prefix} {word}"), "the bars after the click")
    finish_page(page, box, "02_ngrams_explorer.png")


def test_classifier_explorer_in_jupyterlab(page, lab: Lab):
    name = "05_distilbert.ipynb"
    assert (NOTEBOOKS / name).exists(), f"notebooks/{name} is missing (renamed?): update this test"
    topics = {"World", "Sports", "Business", "Sci/Tech"}

    open_and_run(page, lab, name)
    box = widget_box(page)
    field = box.locator(EXPLORER_INPUT)
    assert box.locator(".widget-button").count() == 0, "the classifier's labels are not clickable"
    first = wait_for_new_bars(page, box, [], "the classifier's first bars")

    # Each keystroke re-runs the classifier, so fill() pastes the whole headline at once.
    business = "Shares slump as the central bank raises interest rates and oil prices climb"
    field.fill(business)
    second = wait_for_new_bars(page, box, first, "the bars for a business headline")
    sports = "Striker scores twice as United beat City to win the cup final"
    field.fill(sports)
    shown = wait_for_new_bars(page, box, second, "the bars for a sports headline")

    assert {label for label, _ in shown} == topics, shown
    assert shown[0][0] == "Sports", f"{sports!r} was shown as {shown}"
    percents = [float(p.rstrip("%")) for _, p in shown]
    assert percents == sorted(percents, reverse=True)
    assert abs(sum(percents) - 100) < 0.5, f"the four topics should share 100%: {shown}"
    finish_page(page, box, "05_distilbert_classifier.png")
