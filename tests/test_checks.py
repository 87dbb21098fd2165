"""lmcourse.checks: figures from training compared with the reference run within a stated tolerance."""

from __future__ import annotations

import pytest

from lmcourse import checks


def test_within_a_relative_tolerance_the_verdict_does_not_depend_on_the_values():
    reference = {"validation loss": 4.806, "perplexity": 153.1}
    assert checks.near({"validation loss": 4.9, "perplexity": 149.0}, reference, rel=0.03) == \
        checks.near({"validation loss": 4.7, "perplexity": 157.0}, reference, rel=0.03) == \
        "Within ±3% of the reference run: validation loss, perplexity."


def test_the_verdict_names_the_figures_in_the_references_order():
    reference = {"World": 0.17, "Sports": 0.12, "Sci/Tech": 0.17}
    ranked = {"Sci/Tech": 0.175, "World": 0.171, "Sports": 0.118}  # as a model ranks them: it may vary
    assert checks.near(ranked, reference, points=3) == "Within ±3 points of the reference run: World, Sports, Sci/Tech."


def test_outside_the_tolerance_every_figure_off_is_named():
    with pytest.raises(AssertionError) as err:
        checks.near({"a": 1.05, "b": 2.0, "c": 3.5}, {"a": 1.0, "b": 2.0, "c": 3.0}, rel=0.03)
    message = str(err.value)
    assert "a is 1.05, the reference run had 1 (±3%)" in message and "c is 3.5" in message
    assert "b is" not in message


def test_two_sided_and_in_points_for_percentages():
    assert checks.near({"accuracy": 0.981}, {"accuracy": 1.0}, points=2).startswith("Within ±2 points")
    for too_far in (0.979, 1.021):
        with pytest.raises(AssertionError):
            checks.near({"accuracy": too_far}, {"accuracy": 1.0}, points=2)
    with pytest.raises(AssertionError):  # a floor would have let a better-than-reference value pass
        checks.near({"loss": 3.0}, {"loss": 4.0}, rel=0.03)


def test_other_profiles_are_shown_not_compared():
    assert checks.near({"x": 99.0}, {"x": 1.0}, rel=0.03, compare=False).startswith("Shown, not compared")


def test_the_tolerance_and_names_must_be_clear():
    with pytest.raises(ValueError, match="exactly one of rel= .* or points="):
        checks.near({"x": 1.0}, {"x": 1.0})
    with pytest.raises(AssertionError, match=r"not the reference run's: \['x'\] instead of \['y'\]"):
        checks.near({"x": 1.0}, {"y": 1.0}, rel=0.1)
    assert checks.near({"x": 1.0}, {"y": 1.0}, rel=0.1, compare=False).startswith("Shown, not compared")
