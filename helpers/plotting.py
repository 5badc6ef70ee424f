"""One figure style for the book. Every function takes ``ax=None`` and returns the ``Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import ticker

from .transfer import TransferParams, count_distribution, phi, quantile_map, rate_density

#: Colours with fixed meanings across chapters.
COLORS = {
    "truth": "0.2",
    "fit": "#1b6ca8",
    "naive": "#d1495b",
    "data": "0.65",
    "novel": "#1b6ca8",
    "familiar": "#e08e0b",
}


#: Figure width (inches). The book's text column is 684 px wide at 1280 px of screen, and the
#: notebook saves figures with a tight box padded by 0.1 in a side: at ``savefig.dpi`` 100 a
#: figure this wide is saved at most about 670 px wide and shown at its own size, fonts included.
BOOK_WIDTH = 6.5
#: Font sizes (pt). At 100 dpi, shown unscaled, 8 pt is the smallest any text may be.
FONT_SIZES = {"tick": 9.0, "label": 10.0, "title": 10.0, "legend": 8.5, "smallest": 8.0}


def use_book_style() -> None:
    """Seaborn's ``ticks`` style, fonts at sizes that read at the figure's displayed size."""
    sns.set_theme(context="notebook", style="ticks")
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.figsize": (BOOK_WIDTH, 3.4),
            # constrained layout: labels, colour bars and the legend under the panels get room
            "figure.constrained_layout.use": True,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "xtick.labelsize": FONT_SIZES["tick"],
            "ytick.labelsize": FONT_SIZES["tick"],
            "axes.labelsize": FONT_SIZES["label"],
            "axes.titlesize": FONT_SIZES["title"],
            "legend.fontsize": FONT_SIZES["legend"],
            "legend.title_fontsize": FONT_SIZES["legend"],
            "font.size": FONT_SIZES["label"],
        }
    )


def legend_below(ax, *, ncol: int | None = None, **kw):
    """Put the labelled artists of ``ax`` into the figure's legend, under all its panels, so that
    no legend hides data. Calls for several panels of one figure build one legend (a label
    already there is not repeated). The book's style uses constrained layout, which makes room
    for it below the x labels."""
    fig = ax.figure
    items = getattr(fig, "_book_legend_items", {})
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        items.setdefault(label, handle)
    fig._book_legend_items = items
    previous = getattr(fig, "_book_legend", None)
    if previous is not None:
        previous.remove()
    if ncol is None:  # as many columns as fit the column's width (about 6 px a character)
        widest = max((len(label) for label in items), default=1)
        ncol = max(1, min(len(items), int(BOOK_WIDTH * 100 - 40) // (45 + 6 * widest)))
    fig._book_legend = fig.legend(
        list(items.values()), list(items), loc="outside lower center", ncol=ncol, **kw
    )
    return fig._book_legend


def tidy_log_axes(fig_or_ax) -> None:
    """On every logarithmic axis of a figure (or of one ``Axes``): labels at 1, 2, 5 per decade
    in plain numbers and none on the other minor ticks, so that labels never overlap
    (matplotlib's default labels every minor tick of an axis spanning less than a decade, as
    ``3x10^-2 4x10^-2 ...``)."""
    axes = fig_or_ax.axes if hasattr(fig_or_ax, "get_axes") else [fig_or_ax]
    for ax in axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale != "log":
                continue
            low, high = sorted(abs(v) for v in (axis.get_view_interval()))
            decades = np.log10(high / max(low, 1e-300))
            subs = (1.0, 2.0, 5.0) if decades <= 2 else (1.0,)
            axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
            axis.set_major_formatter(ticker.FuncFormatter(_plain_number))
            axis.set_minor_locator(ticker.LogLocator(base=10, subs=np.arange(2, 10) * 1.0))
            axis.set_minor_formatter(ticker.NullFormatter())


def _plain_number(value, _position=None) -> str:
    if value == 0:
        return "0"
    exponent = int(np.floor(np.log10(abs(value)) + 1e-9))
    if -3 <= exponent <= 4:
        return f"{value:g}"
    mantissa = value / 10.0**exponent
    return f"$10^{{{exponent}}}$" if abs(mantissa - 1) < 1e-9 else f"${mantissa:g}\\times10^{{{exponent}}}$"


def _axes(ax):
    return plt.gca() if ax is None else ax


def rate_histogram(rates, *, bins=30, ax=None, color=COLORS["data"], label="measured rates"):
    """Histogram of rates over stimuli, as a density (Hz^-1)."""
    ax = _axes(ax)
    ax.hist(rates, bins=bins, density=True, color=color, alpha=0.8, label=label)
    ax.set_xlabel("rate (Hz)")
    ax.set_ylabel("density (1/Hz)")
    return ax


def rate_density_curve(params: TransferParams, *, r_top=None, ax=None, color=COLORS["fit"], label="fitted density"):
    """Density of noise-free rates ``r = phi(h)``, ``h ~ N(0, 1)``."""
    ax = _axes(ax)
    r_top = params.r_max if r_top is None else min(r_top, params.r_max)
    r = np.linspace(1e-3, r_top, 400)
    ax.plot(r, rate_density(r, params), color=color, label=label)
    return ax


def predicted_rate_histogram(
    params: TransferParams, exposure: float, *, r_top, ax=None, color=COLORS["fit"], label="fit + Poisson noise"
):
    """Distribution of *measured* rates ``N / T`` the fit predicts, as a density on the rate axis."""
    ax = _axes(ax)
    max_count = int(np.ceil(r_top * exposure))
    probability = count_distribution(params, exposure, max_count)
    rates = np.arange(max_count + 1) / exposure
    ax.step(rates, probability * exposure, where="mid", color=color, lw=1, ls="--", label=label)
    return ax


def transfer_curve(params: TransferParams, *, h=None, ax=None, **style):
    """``phi(h)`` against the input ``h`` (in SDs of the input over novel stimuli)."""
    ax = _axes(ax)
    h = np.linspace(-3.5, 3.5, 200) if h is None else h
    ax.plot(h, phi(h, params), **style)
    ax.set_xlabel("input h (SD over novel stimuli)")
    ax.set_ylabel("rate (Hz)")
    return ax


def quantile_map_points(rates, *, ax=None, color=COLORS["data"], label="quantile map"):
    """Sorted measured rates against standard-normal quantiles (the non-parametric phi)."""
    ax = _axes(ax)
    z, sorted_rates = quantile_map(rates)
    ax.plot(z, sorted_rates, ".", ms=3, color=color, label=label)
    return ax


def parameter_recovery(truth, estimate, *, intervals=None, covered=None, name="", log=False, ax=None):
    """Estimates against ground truth, one point per neuron, with optional interval bars.

    ``covered`` (bool per neuron) colours the bars of intervals that miss the truth.
    """
    ax = _axes(ax)
    truth, estimate = np.asarray(truth), np.asarray(estimate)
    if intervals is not None:
        intervals = np.asarray(intervals)
        miss = np.zeros(truth.size, bool) if covered is None else ~np.asarray(covered)
        for mask, color in ((~miss, COLORS["data"]), (miss, COLORS["naive"])):
            ax.vlines(truth[mask], intervals[mask, 0], intervals[mask, 1], color=color, lw=0.8, alpha=0.7)
    ax.plot(truth, estimate, ".", color=COLORS["fit"], ms=4)
    low, high = np.nanmin(truth), np.nanmax(truth)
    ax.plot([low, high], [low, high], color=COLORS["truth"], lw=0.8, ls=":")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        tidy_log_axes(ax)
    ax.set_xlabel(f"true {name}")
    ax.set_ylabel(f"estimated {name}")
    return ax


def weight_distribution(values, *, predicted=None, scale=1.0, bins=120, ax=None, label="network"):
    """Histogram of synaptic weights in units of ``scale`` (e.g. ``A / (c N)``), with an optional
    predicted density ``(centres, density)`` in the same units as ``values``."""
    ax = _axes(ax)
    values = np.asarray(values, dtype=float) / scale
    ax.hist(values, bins=bins, density=True, color=COLORS["data"], alpha=0.7, label=label)
    if predicted is not None:
        centres, density = predicted
        ax.plot(np.asarray(centres) / scale, np.asarray(density) * scale, color=COLORS["fit"], label="theory")
    ax.axvline(0.0, color="0.4", lw=0.8)
    ax.set_xlabel("weight $J_{ij}$ / ($A/cN$)")
    ax.set_ylabel("density")
    return ax
