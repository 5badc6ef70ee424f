import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers import plotting  # noqa: E402
from helpers.transfer import PUBLISHED_MEDIANS, phi  # noqa: E402


def test_functions_draw_on_the_given_axes_and_return_them():
    plotting.use_book_style()
    rates = phi(np.random.default_rng(0).standard_normal(300), PUBLISHED_MEDIANS)
    fig, ax = plt.subplots()
    assert plotting.rate_histogram(rates, ax=ax) is ax
    assert plotting.rate_density_curve(PUBLISHED_MEDIANS, r_top=60, ax=ax) is ax
    assert plotting.predicted_rate_histogram(PUBLISHED_MEDIANS, 4.0, r_top=60, ax=ax) is ax
    assert len(ax.patches) > 0 and len(ax.lines) == 2
    fig2, ax2 = plt.subplots()
    assert plotting.quantile_map_points(rates, ax=ax2) is ax2
    assert plotting.transfer_curve(PUBLISHED_MEDIANS, ax=ax2) is ax2
    truth = np.linspace(1, 2, 5)
    intervals = np.stack([truth - 0.1, truth + 0.1], axis=1)
    assert plotting.parameter_recovery(truth, truth, intervals=intervals, covered=np.ones(5, bool), ax=ax2) is ax2
    plt.close("all")


def test_weight_distribution_draws_histogram_and_theory_in_scaled_units():
    fig, ax = plt.subplots()
    values = np.random.default_rng(1).normal(0, 2e-3, 1000)
    centres = np.linspace(-1e-2, 1e-2, 50)
    assert plotting.weight_distribution(values, predicted=(centres, np.ones(50)), scale=1e-3, ax=ax) is ax
    line = next(line for line in ax.lines if line.get_label() == "theory")
    assert np.allclose(line.get_xdata(), centres / 1e-3) and np.allclose(line.get_ydata(), 1e-3)
    plt.close(fig)


def _label_boxes(fig, axis):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [
        label.get_window_extent(renderer)
        for label in axis.get_ticklabels(minor=False) + axis.get_ticklabels(minor=True)
        if label.get_visible() and label.get_text()
    ]


def test_log_axes_spanning_under_a_decade_get_labels_that_do_not_overlap():
    plotting.use_book_style()
    fig, ax = plt.subplots(figsize=(2.2, 2.0))
    ax.plot([0.03, 0.4], [1, 2])
    ax.set_xscale("log")
    fig.canvas.draw()

    def overlapping(axis):
        boxes = sorted(_label_boxes(fig, axis), key=lambda box: box.x0)
        return any(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:], strict=False))

    assert overlapping(ax.xaxis), "matplotlib's default labels minor ticks and they collide"
    plotting.tidy_log_axes(fig)
    assert not overlapping(ax.xaxis)
    texts = [label.get_text() for label in ax.xaxis.get_ticklabels() if label.get_text()]
    assert texts and all("\\times" not in text for text in texts), texts
    plt.close(fig)


def test_book_style_fonts_are_legible_at_the_column_width():
    plotting.use_book_style()
    sizes = [plt.rcParams[key] for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize")]
    assert min(sizes) >= plotting.FONT_SIZES["smallest"] >= 8
    assert plt.rcParams["figure.figsize"][0] <= plotting.BOOK_WIDTH
    assert plotting.BOOK_WIDTH * plt.rcParams["savefig.dpi"] <= 684


def test_parameter_recovery_on_log_axes_labels_no_minor_ticks():
    plotting.use_book_style()
    fig, ax = plt.subplots()
    truth = np.linspace(30, 90, 10)
    plotting.parameter_recovery(truth, truth * 1.1, log=True, ax=ax)
    fig.canvas.draw()
    assert all(not label.get_text() for label in ax.xaxis.get_ticklabels(minor=True))
    plt.close(fig)


def test_legends_of_several_panels_make_one_legend_under_the_panels():
    plotting.use_book_style()
    fig, axes = plt.subplots(1, 2, figsize=(plotting.BOOK_WIDTH, 2.5))
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="shared")
    axes[1].plot([0, 1], [1, 0], label="only right")
    plotting.legend_below(axes[0])
    legend = plotting.legend_below(axes[1])
    fig.canvas.draw()
    assert fig.legends == [legend]
    assert [text.get_text() for text in legend.get_texts()] == ["shared", "only right"]
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    for ax in axes:  # below every panel, its tick labels and x label included
        assert box.y1 <= ax.get_tightbbox(renderer).y0 + 1
    plt.close(fig)
