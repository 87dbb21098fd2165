"""The notebooks' checks of figures that come from training, against the course's reference run.

Training gives slightly different numbers on another processor or with other library versions, so
such a figure is compared with the value the course's reference run printed (the committed output)
within a stated two-sided tolerance: never digit by digit, and never by hiding it. A notebook shows
the figures in one cell and checks them in the next:

    print(checks.near({"best validation loss": best}, {"best validation loss": 4.806}, rel=0.03,
                      compare=rt.offline))

The reference run is the offline profile's; in another profile the model and data differ, so the
figures are shown and not compared (``compare=False``). Percentages are given as fractions (0.975).
"""

from __future__ import annotations

from collections.abc import Mapping


def near(figures: Mapping[str, float], reference: Mapping[str, float], *, rel: float | None = None,
         points: float | None = None, compare: bool = True) -> str:
    """A one-line verdict when every figure is within ``rel`` (a relative tolerance, 0.03 = ±3%) or
    ``points`` (an absolute one, for percentages: 2 = ±2 points) of its reference; an AssertionError
    naming every figure that is not. The verdict's text does not depend on the figures' values."""
    if (rel is None) == (points is None):
        raise ValueError("give exactly one of rel= (relative) or points= (absolute, in percentage points)")
    if not compare:
        return "Shown, not compared: the reference run is the offline profile's, with its model and data."
    if set(figures) != set(reference):  # e.g. a prediction that went to another topic than in the reference run
        raise AssertionError(f"These figures are not the reference run's: {sorted(figures)} "
                             f"instead of {sorted(reference)}")
    tolerance = f"±{rel:.0%}" if rel is not None else f"±{points:g} points"
    off = []
    for name, value in figures.items():
        allowed = abs(reference[name]) * rel if rel is not None else points / 100
        if not abs(value - reference[name]) <= allowed:
            off.append(f"{name} is {value:.4g}, the reference run had {reference[name]:.4g} ({tolerance})")
    if off:
        raise AssertionError("Outside the tolerance of the reference run: " + "; ".join(off))
    names = ", ".join(reference)  # the reference's order: figures may come ranked by a trained model
    return f"Within {tolerance} of the reference run: {names}."
