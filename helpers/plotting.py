"""One figure style for the book. Every function takes ``ax=None`` and returns the ``Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

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


def use_book_style() -> None:
    """Seaborn's ``ticks`` style at a size that reads well in the rendered book."""
    sns.set_theme(context="notebook", style="ticks", font_scale=0.9)
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )


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
