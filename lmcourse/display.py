"""Show the package's own code in a notebook, so the lines a student reads are the lines that run.

``show_source(transformer.attention)`` displays the function's source exactly as the package
defines it (one source of truth: nothing is copied into the notebook that could drift from it).
"""

from __future__ import annotations

import html
import inspect
import textwrap


class Source:
    """Source code that shows highlighted in Jupyter and as plain text elsewhere (and in nbval)."""

    def __init__(self, code: str, origin: str):
        self.code, self.origin = code, origin

    def __repr__(self) -> str:
        return f"# {self.origin}\n{self.code}"

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            body = f"<pre>{html.escape(self.code)}</pre>"
        else:
            body = highlight(self.code, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))
        return (f"<div style='font-size:90%'><div style='color:#666'>{html.escape(self.origin)}</div>"
                f"{body}</div>")

    _repr_pretty_ = lambda self, printer, cycle: printer.text(repr(self))  # noqa: E731


def show_source(*objects) -> Source:
    """The source of functions, classes or methods, in the order given, with where they live."""
    if not objects:
        raise ValueError("show_source needs at least one function, class or method")
    parts, origins = [], []
    for obj in objects:
        try:
            parts.append(textwrap.dedent(inspect.getsource(obj)).rstrip())
        except (TypeError, OSError) as err:
            raise ValueError(f"cannot show the source of {obj!r}: {err}") from None
        origins.append(f"{obj.__module__}.{obj.__qualname__}")
    return Source("\n\n\n".join(parts), "from " + ", ".join(origins))
