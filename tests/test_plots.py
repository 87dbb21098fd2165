"""lmcourse.plots: every figure has a title and axis labels, and shows the numbers it was given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lmcourse import plots  # noqa: E402
from lmcourse.ngrams import NGramModel  # noqa: E402

SENTENCES = [["the", "cat", "sat", "."], ["the", "dog", "sat", "."], ["a", "cat", "ran", "."]]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled(fig, ylabel: bool = True):
    """The figure's main axes, after checking its title and axis labels are set."""
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title().strip()
    assert ax.get_xlabel().strip()
    if ylabel:
        assert ax.get_ylabel().strip()
    return ax


def test_timeline():
    fig = plots.timeline()
    ax = labelled(fig, ylabel=False)  # the vertical axis only separates labels; it is hidden
    assert ax.get_yticks().size == 0
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(plots.MILESTONES)
    assert any("2017" in t and "Transformer" in t for t in texts)
    years = [year for year, _ in plots.MILESTONES]
    assert years == sorted(years)


def test_bigram_heatmap_shows_the_models_probabilities():
    model = NGramModel(2).fit(SENTENCES)
    words = ["the", "cat", "sat", "."]
    fig = plots.bigram_heatmap(model, words)
    ax = labelled(fig)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("next word", "previous word")
    shown = ax.images[0].get_array()
    expected = [[model.prob(b, (a,)) for b in words] for a in words]
    np.testing.assert_allclose(shown, expected)
    assert shown[0, 1] == pytest.approx(0.5)  # P(cat | the)
    assert [t.get_text() for t in ax.get_xticklabels()] == words
    assert fig.axes[1].get_ylabel() == "probability"  # the colour bar


def test_zipf_plots_sorted_counts_on_log_axes():
    tokens = ["the"] * 8 + ["cat"] * 4 + ["sat"] * 2 + ["mat"]
    fig = plots.zipf(tokens, label="toy")
    ax = labelled(fig)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    data, ideal, fitted = ax.lines
    assert data.get_xdata().tolist() == [1, 2, 3, 4]
    assert data.get_ydata().tolist() == [8, 4, 2, 1]
    assert ideal.get_ydata().tolist() == pytest.approx([8, 4, 8 / 3, 2])
    slope, intercept = plots.zipf_fit(tokens)
    assert fitted.get_xdata().tolist() == [1, 2, 3, 4]
    assert fitted.get_ydata() == pytest.approx(np.exp(intercept) * np.arange(1, 5) ** slope)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "toy" and legend[2] == f"least squares, ranks 1–4: slope {slope:.2f}"


def zipf_tokens(counts: list[int]) -> list[str]:
    """Tokens in which word i occurs counts[i] times."""
    return [f"w{i}" for i, c in enumerate(counts) for _ in range(c)]


@pytest.mark.parametrize("exponent", [1.0, 0.5, 2.0])
def test_zipf_fit_recovers_a_known_slope(exponent):
    scale = 100_000
    tokens = zipf_tokens([round(scale / r ** exponent) for r in range(1, 31)])
    slope, intercept = plots.zipf_fit(tokens)
    assert slope == pytest.approx(-exponent, abs=2e-3)
    assert intercept == pytest.approx(np.log(scale), abs=5e-3)


def test_zipf_fit_uses_only_the_ranks_it_is_given():
    # Slope -2 over ranks 1..10, then -0.5 over ranks 10..40 (continuous at rank 10).
    counts = [round(1e5 / r ** 2) for r in range(1, 11)] + [round(1e3 * (r / 10) ** -0.5) for r in range(11, 41)]
    tokens = zipf_tokens(counts)
    assert plots.zipf_fit(tokens, ranks=(1, 10))[0] == pytest.approx(-2.0, abs=1e-3)
    assert plots.zipf_fit(tokens, ranks=(10, None))[0] == pytest.approx(-0.5, abs=2e-3)
    assert plots.zipf_fit(tokens, ranks=(10, 40)) == plots.zipf_fit(tokens, ranks=(10, None))
    assert -2.0 < plots.zipf_fit(tokens)[0] < -0.5
    fig = plots.zipf(tokens, ranks=(10, 40))
    assert fig.axes[0].lines[2].get_xdata().tolist() == list(range(10, 41))
    with pytest.raises(ValueError, match=r"ranks must be \(first, last\) with 1 <= first < last <= 40"):
        plots.zipf_fit(tokens, ranks=(10, 41))
    with pytest.raises(ValueError, match="got \\(0, 5\\)"):
        plots.zipf_fit(tokens, ranks=(0, 5))


def test_bars_show_each_value():
    values = {"unigram": 403.5, "bigram": 191.8, "trigram": 190.4}
    fig = plots.bars(values, "Perplexity on the test split", "perplexity (lower is better)")
    ax = labelled(fig, ylabel=False)  # the vertical axis names the bars
    assert ax.get_title() == "Perplexity on the test split"
    assert ax.get_xlabel() == "perplexity (lower is better)"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(values)
    assert [p.get_width() for p in ax.patches] == pytest.approx(list(values.values()))
    assert [t.get_text().strip() for t in ax.texts] == ["403.5", "191.8", "190.4"]


def test_distribution_shows_probabilities():
    items = [("is", 0.22), ("in", 0.16), (".", 0.03)]
    fig = plots.distribution(items, "Next word after 'the weather'")
    ax = labelled(fig, ylabel=False)  # the vertical axis names the words
    assert ax.get_xlabel() == "probability"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["is", "in", "."]
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.22, 0.16, 0.03])


@pytest.mark.parametrize("pyplot", [True, False])
def test_loss_curve_one_line_per_series(pyplot):
    fig = plots.loss_curve({"training": [2.0, 1.5, 1.2], "validation": [2.1, 1.8, 1.7], "empty": []},
                           "Loss per epoch", pyplot=pyplot)
    ax = labelled(fig)
    assert ax.get_ylabel() == "cross-entropy loss (nats)" and ax.get_xlabel() == "epoch"
    assert [line.get_label() for line in ax.lines] == ["training", "validation"]
    assert ax.lines[1].get_xdata().tolist() == [1, 2, 3]
    assert ax.lines[1].get_ydata().tolist() == [2.1, 1.8, 1.7]
    assert (fig in map(plt.figure, plt.get_fignums())) == pyplot


def test_confusion_counts():
    matrix = [[5, 1], [2, 7]]
    fig = plots.confusion(matrix, ["Sports", "World"])
    ax = labelled(fig)
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert [t.get_text() for t in ax.texts] == ["5", "1", "2", "7"]


def test_attention_map():
    tokens = ["[CLS]", "rain", "[SEP]"]
    weights = np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    fig = plots.attention_map(tokens, weights)
    ax = labelled(fig)
    np.testing.assert_allclose(ax.images[0].get_array(), weights)
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
