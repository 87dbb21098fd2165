"""Interactive widgets for every chapter, built on the one predictor protocol.

Anything with ``predict(text, k) -> [(label, probability), ...]`` (see :mod:`lmcourse.protocol`)
can drive the explorer: an n-gram model, the LSTM or the transformer (next words), or a classifier
(topics); :class:`SideBySide` shows one prompt to several models at once. The
models check their own input, so a widget shows the model's own message for a bad input. The
update logic is in plain functions (``explore``, ``generate_text``) that the tests call without a
browser; the widget classes only wire them to controls that exist in ipywidgets 7.7 and 8 alike,
and turn any error into a one-line message, so a widget keeps working whatever happens.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lmcourse.protocol import Generator, Predictor
from lmcourse.text import EOS, detokenize

SENTENCE_START_NOTE = "Nothing typed yet: these are the likeliest first words of a sentence."


@dataclass(frozen=True)
class Prediction:
    """What a widget shows: bars for ``items`` and a one-line ``message`` (maybe empty)."""

    items: list[tuple[str, float]] = field(default_factory=list)
    message: str = ""

    def __str__(self) -> str:
        lines = [self.message] if self.message else []
        width = max((len(label) for label, _ in self.items), default=0)
        lines += [f"{label:<{width}}  {p:6.1%}  {'#' * round(p * 40)}" for label, p in self.items]
        return "\n".join(lines)

    _repr_pretty_ = lambda self, printer, cycle: printer.text(str(self))  # noqa: E731


def explore(predictor: Predictor, text: str, k: int = 5) -> Prediction:
    """What the explorer shows for ``text``: the top-k labels, or the model's message instead."""
    try:
        items = predictor.predict(text, k)
    except ValueError as err:  # the model's input check (lmcourse.protocol) or a bad k
        return Prediction([], str(err))
    notes = []
    if not text.strip():
        notes.append(SENTENCE_START_NOTE)
    unknown = getattr(predictor, "unknown_words", lambda _: [])(text)
    if unknown:
        words = ", ".join(repr(w) for w in unknown[:5])
        notes.append(f"Not in the vocabulary, read as <UNK>: {words}.")
    if not items:
        notes.append("The model never saw this context, so it gives every word probability 0. "
                     "A smoothed model would still guess.")
    return Prediction(items, " ".join(notes))


def takes_top_k(generator: Generator) -> bool:
    """Whether ``generator.generate`` can keep only the k likeliest words (the neural models can)."""
    import inspect

    return "top_k" in inspect.signature(generator.generate).parameters


def generate_text(generator: Generator, prompt: str, length: int, temperature: float,
                  seed: int | None = 0, top_k: int | None = None) -> Prediction:
    """What the generator shows: the prompt and its sampled continuation, or the model's message.
    ``top_k`` (None: every word) is passed on only to models that support it."""
    try:
        extra = {"top_k": top_k} if top_k is not None and takes_top_k(generator) else {}
        words = generator.generate(prompt, length=length, temperature=temperature, seed=seed, **extra)
    except ValueError as err:
        return Prediction([], str(err))
    continuation = detokenize(words) if not isinstance(words, str) else words
    sep = "" if continuation[:1] in tuple(".,!?;:") or not prompt.strip() else " "
    return Prediction([], f"{prompt.strip()}{sep}{continuation}")


def shown_safely(compute: Callable[[], Prediction]) -> Prediction:
    """``compute()``, or a one-line message naming whatever went wrong: a widget callback must
    never raise (ipywidgets would only log the error where the student cannot see it)."""
    try:
        return compute()
    except Exception as err:  # noqa: BLE001  (shown to the student, not hidden)
        first_line = (str(err).strip().splitlines() or [""])[0]
        return Prediction([], f"Something went wrong: {type(err).__name__}: {first_line}"
                              " (change the input to try again)")


def append_word(text: str, word: str) -> str:
    """``text`` with ``word`` added the way the tokenizer would read it back."""
    if word == EOS:  # the end-of-sentence symbol: the sentence is complete, nothing to type
        return text
    if word in (".", ",", "!", "?", ";", ":"):
        return text.rstrip() + word
    return (text.rstrip() + " " + word).lstrip()


def bars_html(items: Sequence[tuple[str, float]]) -> str:
    """A small HTML bar chart of (label, probability) pairs."""
    rows = "".join(
        f"<tr><td style='padding-right:8px;font-family:monospace'>{html.escape(label)}</td>"
        f"<td style='width:320px'><div style='background:#4c72b0;height:14px;"
        f"width:{max(p, 0.002) * 100:.1f}%'></div></td>"
        f"<td style='padding-left:8px;font-family:monospace'>{p:.1%}</td></tr>"
        for label, p in items)
    return f"<table>{rows}</table>"


# --- ipywidgets front ends (imported lazily so `import lmcourse` stays light) -------------------
class _Widget:
    """Shows as the widget in Jupyter and as one stable line of text elsewhere (and in nbval)."""

    title = "widget"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "text/plain": f"[{self.title}: interactive, run the notebook to use it]",
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self.box.model_id},
        }


class Explorer(_Widget):
    """Type text; bars of the predictor's top-k labels update. Clicking a word appends it."""

    def __init__(self, predictor: Predictor, text: str = "", k: int = 8, title: str = "Next-word explorer",
                 clickable: bool = True):
        import ipywidgets as w

        self.predictor, self.k, self.title, self.clickable = predictor, k, title, clickable
        self.text = w.Text(value=text, description="Text:", placeholder="Type a few words",
                           continuous_update=True, layout=w.Layout(width="90%"))
        self.message = w.HTML()
        self.bars = w.HTML()
        self.words = w.HBox()
        self.box = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), self.text, self.message, self.bars,
                           self.words])
        self.text.observe(lambda change: self.update(), names="value")
        self.update()

    def prediction(self) -> Prediction:
        return shown_safely(lambda: explore(self.predictor, self.text.value, self.k))

    def update(self) -> None:
        import ipywidgets as w

        shown = self.prediction()
        self.message.value = f"<i>{html.escape(shown.message)}</i>" if shown.message else ""
        self.bars.value = bars_html(shown.items)
        buttons = []
        if self.clickable:
            for label, _ in shown.items:
                button = w.Button(description=label, layout=w.Layout(width="auto"),
                                  tooltip=f"append '{label}'")
                button.on_click(lambda _, word=label: self.append(word))
                buttons.append(button)
        self.words.children = tuple(buttons)

    def append(self, word: str) -> None:
        self.text.value = append_word(self.text.value, word)


class SideBySide(_Widget):
    """One prompt, several models: each model's top-k next words side by side, as it types."""

    def __init__(self, predictors: dict[str, Predictor], text: str = "", k: int = 6,
                 title: str = "One prompt, every model"):
        import ipywidgets as w

        if not predictors:
            raise ValueError("predictors must name at least one model, got none")
        self.predictors, self.k, self.title = dict(predictors), k, title
        self.text = w.Text(value=text, description="Text:", placeholder="Type a few words",
                           continuous_update=True, layout=w.Layout(width="90%"))
        self.columns = {name: (w.HTML(), w.HTML()) for name in self.predictors}
        self.box = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), self.text, w.HBox([
            w.VBox([w.HTML(f"<b>{html.escape(name)}</b>"), message, bars],
                   layout=w.Layout(width=f"{100 // len(self.predictors) - 1}%"))
            for name, (message, bars) in self.columns.items()])])
        self.text.observe(lambda change: self.update(), names="value")
        self.update()

    def predictions(self) -> dict[str, Prediction]:
        return {name: shown_safely(lambda p=p: explore(p, self.text.value, self.k))
                for name, p in self.predictors.items()}

    def update(self) -> None:
        for name, shown in self.predictions().items():
            message, bars = self.columns[name]
            message.value = f"<i>{html.escape(shown.message)}</i>" if shown.message else ""
            bars.value = bars_html(shown.items)


class TextGenerator(_Widget):
    """Prompt, length, temperature and seed in (and top-k, for models that support it); sampled
    text out."""

    title = "Text generator"

    def __init__(self, generator: Generator, prompt: str = "", length: int = 20, temperature: float = 1.0,
                 seed: int = 0, title: str = "Text generator"):
        import ipywidgets as w

        self.generator, self.title = generator, title
        self.prompt = w.Text(value=prompt, description="Prompt:", layout=w.Layout(width="90%"))
        self.length = w.IntSlider(value=length, min=0, max=100, description="Length:")
        self.temperature = w.FloatSlider(value=temperature, min=0.1, max=2.0, step=0.1,
                                         description="Temperature:")
        self.seed = w.IntText(value=seed, description="Seed:")
        self.top_k = w.IntSlider(value=0, min=0, max=50, description="Top-k (0: all):",
                                 style={"description_width": "initial"})
        self.button = w.Button(description="Generate", button_style="primary")
        self.output = w.HTML()
        controls = [self.prompt, self.length, self.temperature, self.seed]
        if takes_top_k(generator):
            controls.append(self.top_k)
        self.box = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), *controls, self.button, self.output])
        self.button.on_click(lambda _: self.update())
        self.update()

    def result(self) -> Prediction:
        return shown_safely(lambda: generate_text(self.generator, self.prompt.value, self.length.value,
                                                  self.temperature.value, self.seed.value,
                                                  self.top_k.value or None))

    def update(self) -> None:
        self.output.value = f"<p>{html.escape(self.result().message)}</p>"
