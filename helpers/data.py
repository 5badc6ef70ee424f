"""Recordings: their tidy format, a validating loader, and a surrogate generator.

The format is one row per neuron, stimulus and trial::

    neuron, stimulus, condition, trial, spike_count, window

``condition`` is ``novel`` or ``familiar``, ``spike_count`` a non-negative integer and ``window``
the length (s) of the response window the spikes were counted in. Real recordings of ITC neurons
would be written this way; no public set of them exists, so the book runs on *surrogate*
recordings from :func:`simulate_recordings`, whose ground truth is known.

The surrogate population
------------------------
Each neuron ``i`` has a sigmoid transfer function (``helpers.transfer``) with parameters spread
around the published medians. For stimulus ``s`` it receives

    h_is = xi_is + sum_j W_ij r_js,

a stimulus-specific feed-forward input ``xi_is ~ N(0, 1)`` and input from a pre-synaptic
population whose rates ``r_js = phi_pre(zeta_js)`` are those of the same stimulus. The weights
``W`` start at zero and are learned: the familiar stimuli are shown ``n_repetitions`` times in
random order and every presentation changes the weights by a separable rule,

    dW_ij = c f(r_i / s_i) g(r_j),

with the neuron's *current* rate ``r_i`` and a scale ``s_i`` that slides with the neuron's mean
rate (see :class:`Familiarisation`): the responses drift during learning and stimuli
interfere through shared synapses, so familiar responses are not a formula applied to novel
ones. ``c`` is set so that, after all repetitions, a stimulus's own input change is about
``A f(r)`` in units of the input SD. All responses (novel and familiar) are recorded after
learning; for novel stimuli the learned weights add a small random input, which the ground truth
accounts for (see :func:`simulate_recordings`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd

from . import _validate
from .rng import RandomLike, as_generator
from .rules import (
    RuleParams,
    balanced_q_g,
    depression_potentiation_threshold,
    gaussian_average,
    post_factor,
    pre_factor,
)
from .transfer import PUBLISHED_MEDIANS, TransferParams, phi

COLUMNS = ("neuron", "stimulus", "condition", "trial", "spike_count", "window")
CONDITIONS = ("novel", "familiar")

#: Ranges of the 14 transfer-function fits shipped with Pereira & Brunel (2018).
PUBLISHED_RANGES = {"r_max": (30.2, 200.0), "beta": (0.56, 1.14), "h0": (1.23, 5.0)}


class RecordingsError(ValueError):
    """A recordings table that does not follow the format."""


def _shown(value) -> str:
    """A cell's value as a reader would write it (``-2``, not ``np.int64(-2)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


#: The largest count or trial number kept exactly (a float above it would round).
_LARGEST_INTEGER = 2**53


def _integers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The integer value of each cell and which cells are not integers (as written or as stored).

    Written text counts when it is an integer (``12``, ``+3``, ``12.0``); numbers count when they
    are integral; booleans never do (``True`` is not a count); and no value beyond 2**53, where a
    number can no longer be held exactly.
    """
    if pd.api.types.is_bool_dtype(values):
        return np.zeros(len(values), dtype=np.int64), np.ones(len(values), dtype=bool)
    if pd.api.types.is_integer_dtype(values):
        parsed = values.to_numpy(dtype=np.int64)
        return parsed, np.abs(parsed) > _LARGEST_INTEGER
    if pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(numbers) | (numbers != np.round(numbers)) | (np.abs(numbers) > _LARGEST_INTEGER)
        return np.where(bad, 0, numbers).astype(np.int64), bad
    parsed = np.zeros(len(values), dtype=np.int64)
    bad = np.zeros(len(values), dtype=bool)
    cells = values.to_numpy(dtype=object)
    # the common case, text of at most 15 digits, at numpy's speed; the rest one by one
    plain = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    short = np.zeros(len(values), dtype=bool)
    if plain.any():
        short[plain] = values[plain].str.fullmatch(r"\s*\+?\d{1,15}\s*").to_numpy(dtype=bool)
        parsed[short] = values[short].astype(np.int64).to_numpy()
    for index in np.flatnonzero(~short):
        value = cells[index]
        if isinstance(value, bool | np.bool_):
            bad[index] = True
            continue
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    bad[index] = True
                    continue
        if isinstance(value, Integral):
            ok = abs(int(value)) <= _LARGEST_INTEGER
        elif isinstance(value, Real):
            ok = math.isfinite(value) and value == round(value) and abs(value) <= _LARGEST_INTEGER
        else:
            ok = False
        if ok:
            parsed[index] = int(value)
        else:
            bad[index] = True
    return parsed, bad


def _numbers(values: pd.Series) -> np.ndarray:
    """Each cell as a float; NaN where it is not a number (booleans are not numbers)."""
    if pd.api.types.is_bool_dtype(values):
        return np.full(len(values), np.nan)
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float)
    out = np.full(len(values), np.nan)
    for index, value in enumerate(values.to_numpy(dtype=object)):
        if isinstance(value, bool | np.bool_):
            continue
        try:
            out[index] = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            pass
    return out


# --- the format ------------------------------------------------------------------------------


def validate_recordings(
    table: pd.DataFrame, min_stimuli: int = 20, conditions: tuple[str, ...] = ("novel",), lines=None
) -> pd.DataFrame:
    """Check a recordings table and return it with canonical dtypes.

    Raises :class:`RecordingsError` naming the column, and the first offending row, for: a
    missing column, a missing value, a condition other than ``novel``/``familiar``, a
    ``spike_count`` that is not a non-negative integer (booleans and counts beyond 2**53
    included), a ``window`` that is not a positive number, a ``trial`` that is not an integer, a
    repeated (neuron, stimulus, condition, trial), or a neuron with fewer than ``min_stimuli``
    stimuli in one of the required ``conditions``.

    Rows are named ``row k`` (0-based, counting data rows), or ``line n`` when ``lines`` gives the
    file's line number of each row (as :func:`load_recordings` does). Identifiers are kept as
    they are: a neuron or stimulus becomes text, but text read from a file (``001``, ``1.10``,
    ``NA``) is not reinterpreted.
    """
    _validate.integer_at_least("min_stimuli", min_stimuli, 3)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown or not conditions:
        raise ValueError(f"conditions must be a non-empty subset of {list(CONDITIONS)}, got {list(conditions)}")
    if not isinstance(table, pd.DataFrame):
        raise RecordingsError(f"recordings must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise RecordingsError(f"missing column(s) {missing}; the format needs {list(COLUMNS)}")
    table = table.loc[:, list(COLUMNS)].reset_index(drop=True)
    if len(table) == 0:
        raise RecordingsError("recordings table has no rows")

    def where(row: int) -> str:
        return f"line {lines[row]}" if lines is not None else f"row {row}"

    def refuse_first(bad: np.ndarray, column: str, requirement: str) -> None:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RecordingsError(
                f"column '{column}' must {requirement}; {where(row)} has {_shown(table[column].iloc[row])}")

    for column in COLUMNS:
        empty = (table[column].isna() | table[column].map(lambda v: isinstance(v, str) and not v.strip())).to_numpy()
        if empty.any():
            raise RecordingsError(f"column '{column}' has a missing value in {where(int(np.flatnonzero(empty)[0]))}")

    condition = table["condition"].astype(str).str.strip().str.lower()
    refuse_first(~condition.isin(CONDITIONS).to_numpy(), "condition", f"be one of {list(CONDITIONS)}")
    counts, bad = _integers(table["spike_count"])
    refuse_first(bad | (counts < 0), "spike_count", "hold non-negative integers (at most 2**53)")
    window = _numbers(table["window"])
    refuse_first(~np.isfinite(window) | (window <= 0), "window", "be a positive number of seconds")
    trial, bad = _integers(table["trial"])
    refuse_first(bad, "trial", "hold integers")

    clean = pd.DataFrame(
        {
            "neuron": table["neuron"].astype(str),
            "stimulus": table["stimulus"].astype(str),
            "condition": pd.Categorical(condition, categories=CONDITIONS),
            "trial": trial,
            "spike_count": counts,
            "window": window,
        }
    )
    duplicated = clean.duplicated(subset=["neuron", "stimulus", "condition", "trial"]).to_numpy()
    if duplicated.any():
        raise RecordingsError(
            f"{where(int(np.flatnonzero(duplicated)[0]))} repeats (neuron, stimulus, condition, trial) of an earlier "
            "row")

    neurons = clean["neuron"].unique()
    for condition in conditions:
        subset = clean[clean["condition"] == condition]
        per_neuron = subset.groupby("neuron")["stimulus"].nunique().reindex(neurons, fill_value=0)
        too_few = per_neuron[per_neuron < min_stimuli]
        if len(too_few):
            name, n = too_few.index[0], int(too_few.iloc[0])
            raise RecordingsError(
                f"neuron {name!r} has {n} {condition} stimuli; this analysis needs at least "
                f"min_stimuli={min_stimuli} ({len(too_few)} neuron(s) fall short)"
            )
    return clean


def write_recordings(table: pd.DataFrame, path) -> Path:
    """Write a recordings table as CSV (the format above)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.loc[:, list(COLUMNS)].to_csv(path, index=False)
    return path


def _read_rows(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The CSV's rows as text, exactly as written, with the file line on which each row ends.

    Every field stays a string (``001``, ``1.10`` and ``NA`` are kept as written); a blank line or a
    row whose number of fields differs from the header's (often a trailing comma) is refused,
    naming its line as a text editor numbers it.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            if header is None:
                raise RecordingsError("the file is empty; the first line must name the columns "
                                      f"{', '.join(COLUMNS)}")
            names = [name.strip() for name in header]
            if "" in names:
                raise RecordingsError(
                    f"line 1 (the header) has an empty column name in field {names.index('') + 1}"
                    + (" (a trailing comma?)" if names[-1] == "" else ""))
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise RecordingsError(f"line 1 (the header) names column(s) {repeated} more than once")
            rows, lines = [], []
            for row in reader:
                if not row or all(not field.strip() for field in row) and len(row) <= 1:
                    raise RecordingsError(f"line {reader.line_num} is blank; remove it")
                if len(row) != len(names):
                    extra = len(row) > len(names) and not row[-1]
                    trailing = " (a trailing comma adds an empty field)" if extra else ""
                    raise RecordingsError(
                        f"line {reader.line_num} has {len(row)} fields, the header {len(names)}{trailing}")
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError as error:
        raise RecordingsError(f"not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise RecordingsError(f"not a readable CSV table ({error})") from None
    return pd.DataFrame(rows, columns=names, dtype=object), lines


def load_recordings(path, min_stimuli: int = 20, conditions: tuple[str, ...] = ("novel",)) -> pd.DataFrame:
    """Read a recordings CSV and validate it (see :func:`validate_recordings`).

    Errors name the file and the line, numbered as a text editor numbers them (the header is
    line 1). Every field is read as written: identifiers are not turned into numbers.
    """
    path = Path(path)
    if path.is_dir():
        raise RecordingsError(f"{path.name} is a folder; recordings are one CSV file")
    if not path.is_file():
        raise RecordingsError(f"recordings file not found: {path.name}")
    try:
        table, lines = _read_rows(path)
        return validate_recordings(table, min_stimuli=min_stimuli, conditions=conditions, lines=lines)
    except RecordingsError as error:
        raise RecordingsError(f"{path.name}: {error}") from None


def stimulus_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Spike counts summed over trials, one row per neuron, condition and stimulus.

    Columns: ``neuron, condition, stimulus, spike_count, exposure`` (seconds: trials x window),
    ``n_trials`` and ``rate`` (Hz). The summed count is all a Poisson neuron's trials tell about
    its rate for that stimulus.
    """
    grouped = table.groupby(["neuron", "condition", "stimulus"], observed=True, sort=True)
    totals = grouped.agg(
        spike_count=("spike_count", "sum"), exposure=("window", "sum"), n_trials=("trial", "size")
    ).reset_index()
    totals["rate"] = totals["spike_count"] / totals["exposure"]
    return totals


# --- the surrogate population ----------------------------------------------------------------


@dataclass(frozen=True)
class PopulationSpread:
    """How transfer-function parameters vary across surrogate neurons.

    ``r_max`` and ``beta`` are log-normal and ``h0`` normal around the published medians, each
    clipped to the range of the published fits (:data:`PUBLISHED_RANGES`).
    """

    r_max_log_sd: float = 0.3
    beta_log_sd: float = 0.15
    h0_sd: float = 0.4

    def __post_init__(self):
        for name in ("r_max_log_sd", "beta_log_sd", "h0_sd"):
            _validate.in_range(name, getattr(self, name), 0.0, 2.0)


def draw_population(n_neurons: int, rng: RandomLike = None, spread: PopulationSpread = PopulationSpread()):
    """Transfer-function parameters of ``n_neurons`` surrogate neurons (a DataFrame)."""
    _validate.integer_at_least("n_neurons", n_neurons, 1)
    rng = as_generator(rng)
    median = PUBLISHED_MEDIANS
    draws = rng.standard_normal((3, n_neurons))
    population = pd.DataFrame(
        {
            "neuron": [f"n{i:04d}" for i in range(n_neurons)],
            "r_max": median.r_max * np.exp(spread.r_max_log_sd * draws[0]),
            "beta": median.beta * np.exp(spread.beta_log_sd * draws[1]),
            "h0": median.h0 + spread.h0_sd * draws[2],
        }
    )
    for name, (low, high) in PUBLISHED_RANGES.items():
        population[name] = population[name].clip(low, high)
    return population


@dataclass(frozen=True)
class Familiarisation:
    """How the surrogate's familiar stimuli are learned.

    Attributes
    ----------
    rule : RuleParams
        The rule's shape (``q_f, beta_f, x_f``; ``g`` as ``f``) and amplitude ``A``, here the input
        change (in input SDs) that a stimulus would cause on itself where ``f = 1``. The default
        shape is the published median; ``A = 1`` keeps familiar rates within the sigmoid.
    n_presynaptic : int
        Size of the pre-synaptic population whose synapses learn.
    n_repetitions : int
        Presentations of each familiar stimulus.
    presynaptic : TransferParams
        Transfer function of the pre-synaptic neurons.
    threshold_slide : float
        How each neuron's rule follows its mean rate ``mu_i`` over novel stimuli (a sliding
        threshold, as in BCM theory). Neuron ``i`` applies the rule to its rate in units of
        ``s_i = (mu_i / mu_median)^threshold_slide``: ``f_i(r) = f(r / s_i)``, with ``mu_median``
        the mean rate of a neuron with the published median transfer function. 0 gives every
        neuron the same ``f``; with the default 1 each neuron applies one rule to its rate
        relative to its own mean, so thresholds are proportional to mean rates and correlate with
        the mean and SD of the rate distribution, as Lim et al. (2015) observed.
    """

    rule: RuleParams = field(default_factory=lambda: RuleParams(A=1.0))
    n_presynaptic: int = 1000
    n_repetitions: int = 5
    presynaptic: TransferParams = PUBLISHED_MEDIANS
    threshold_slide: float = 1.0

    def __post_init__(self):
        _validate.integer_at_least("n_presynaptic", self.n_presynaptic, 10)
        _validate.integer_at_least("n_repetitions", self.n_repetitions, 1)
        _validate.in_range("threshold_slide", self.threshold_slide, 0.0, 3.0)


@dataclass(frozen=True)
class SurrogateRecordings:
    """Surrogate recordings and the ground truth behind them.

    Attributes
    ----------
    table : DataFrame
        Spike counts in the recordings format.
    truth : DataFrame
        Per neuron: the cell's own ``r_max, beta, h0``; its mean rate ``mean_rate`` over novel
        stimuli before learning; its rule ``f(r / rule_scale)``, as ``x_f, beta_f`` in Hz and the
        rate ``threshold`` where it turns from depression to potentiation; the mean ``input_mean`` and SD
        ``input_sd`` of its input over novel stimuli after learning; and ``beta_eff, h0_eff``,
        the parameters in units of that input, which is what the Gaussian-input method measures
        (``beta_eff = beta input_sd``, ``h0_eff = (h0 - input_mean) / input_sd``).
    familiarisation : Familiarisation
    q_g : float
        Offset of ``g`` that balances it over pre-synaptic rates.
    """

    table: pd.DataFrame
    truth: pd.DataFrame
    familiarisation: Familiarisation
    q_g: float


def _spike_counts(rates, n_trials, window, rng):
    return rng.poisson(rates[..., None] * window, size=rates.shape + (n_trials,))


def tidy_counts(counts, neurons, stimuli, condition, window) -> pd.DataFrame:
    """Counts of shape (neurons, stimuli, trials) as rows of the recordings format (``COLUMNS``)."""
    n_neurons, n_stimuli, n_trials = counts.shape
    return pd.DataFrame(
        {
            "neuron": np.repeat(neurons, n_stimuli * n_trials),
            "stimulus": np.tile(np.repeat(stimuli, n_trials), n_neurons),
            "condition": condition,
            "trial": np.tile(np.arange(n_trials), n_neurons * n_stimuli),
            "spike_count": counts.ravel(),
            "window": window,
        }
    )


def simulate_recordings(
    population: pd.DataFrame,
    n_novel: int = 200,
    n_familiar: int = 200,
    n_trials: int = 10,
    window: float = 0.4,
    familiarisation: Familiarisation = Familiarisation(),
    rng: RandomLike = None,
) -> SurrogateRecordings:
    """Surrogate recordings of ``population`` to novel and familiar stimuli.

    See the module docstring for the model. Spike counts are Poisson with mean ``rate x window``,
    independent across trials.
    """
    n_novel = _validate.integer_at_least("n_novel", n_novel, 3)
    n_familiar = _validate.integer_at_least("n_familiar", n_familiar, 0)
    n_trials = _validate.integer_at_least("n_trials", n_trials, 1)
    window = _validate.positive("window", window)
    rng = as_generator(rng)
    missing = [c for c in ("neuron", "r_max", "beta", "h0") if c not in population.columns]
    if missing:
        raise ValueError(f"population needs columns neuron, r_max, beta, h0; missing {missing}")
    r_max = population["r_max"].to_numpy()[:, None]
    beta = population["beta"].to_numpy()[:, None]
    h0 = population["h0"].to_numpy()[:, None]

    def rates_of(h):
        # phi with each neuron's parameters as a column: transfer.phi takes one parameter set
        return r_max / (1.0 + np.exp(-beta * (h - h0)))

    n_neurons = len(population)
    fam = familiarisation
    pre = fam.presynaptic
    n_pre = fam.n_presynaptic
    rule = fam.rule
    q_g = balanced_q_g(rule, pre)
    # input change of a stimulus on itself per unit of f: c * n_pre * E[g(r) r] * n_repetitions
    g_times_rate = gaussian_average(lambda r: pre_factor(r, rule, q_g) * r, pre)
    step = rule.A / (n_pre * g_times_rate * fam.n_repetitions)

    feedforward_familiar = rng.standard_normal((n_neurons, n_familiar))
    feedforward_novel = rng.standard_normal((n_neurons, n_novel))
    pre_rates_familiar = phi(rng.standard_normal((n_pre, n_familiar)), pre)
    pre_rates_novel = phi(rng.standard_normal((n_pre, n_novel)), pre)
    pre_factors = pre_factor(pre_rates_familiar, rule, q_g)

    # each neuron applies the rule to its rate in units of s_i, which slides with its mean rate
    mean_rates = np.array(
        [gaussian_average(lambda r: r, TransferParams(*row)) for row in population[["r_max", "beta", "h0"]].to_numpy()]
    )
    rule_scale = (mean_rates / gaussian_average(lambda r: r, PUBLISHED_MEDIANS)) ** fam.threshold_slide

    weights = np.zeros((n_neurons, n_pre))
    for _ in range(fam.n_repetitions):
        for s in rng.permutation(n_familiar):
            h = feedforward_familiar[:, s] + weights @ pre_rates_familiar[:, s]
            r_post = rates_of(h[:, None])[:, 0]
            weights += step * np.outer(post_factor(r_post / rule_scale, rule), pre_factors[:, s])

    rates_familiar = rates_of(feedforward_familiar + weights @ pre_rates_familiar)
    rates_novel = rates_of(feedforward_novel + weights @ pre_rates_novel)

    # Over novel stimuli the learned input sum_j W_ij r_j has mean E[r] sum_j W_ij and variance
    # Var[r] sum_j W_ij^2 (pre-synaptic rates independent across neurons and stimuli).
    pre_mean = gaussian_average(lambda r: r, pre)
    pre_variance = gaussian_average(lambda r: r**2, pre) - pre_mean**2
    input_mean = pre_mean * weights.sum(axis=1)
    input_sd = np.sqrt(1.0 + pre_variance * (weights**2).sum(axis=1))

    neurons = population["neuron"].to_numpy()
    novel_ids = np.array([f"s{k:05d}" for k in range(n_novel)])
    familiar_ids = np.array([f"s{k:05d}" for k in range(n_novel, n_novel + n_familiar)])
    table = pd.concat(
        [
            tidy_counts(_spike_counts(rates_novel, n_trials, window, rng), neurons, novel_ids, "novel", window),
            tidy_counts(
                _spike_counts(rates_familiar, n_trials, window, rng), neurons, familiar_ids, "familiar", window
            ),
        ],
        ignore_index=True,
    )
    truth = population.copy()
    truth["mean_rate"] = mean_rates
    truth["rule_scale"] = rule_scale
    truth["x_f"] = rule.x_f * rule_scale
    truth["beta_f"] = rule.beta_f / rule_scale
    truth["threshold"] = depression_potentiation_threshold(rule) * rule_scale
    truth["input_mean"] = input_mean
    truth["input_sd"] = input_sd
    truth["beta_eff"] = truth["beta"] * input_sd
    truth["h0_eff"] = (truth["h0"] - input_mean) / input_sd
    return SurrogateRecordings(table=table, truth=truth, familiarisation=fam, q_g=q_g)


def write_surrogate(surrogate: SurrogateRecordings, path) -> tuple[Path, Path, Path]:
    """Write surrogate recordings with their ground truth beside them.

    ``path`` (``.csv``) gets the recordings; ``<stem>.truth.csv`` the per-neuron ground truth;
    ``<stem>.rule.json`` the rule, ``q_g`` and the familiarisation settings. Returns the three paths.
    """
    path = write_recordings(surrogate.table, path)
    truth_path = path.with_name(f"{path.stem}.truth.csv")
    surrogate.truth.to_csv(truth_path, index=False)
    fam = surrogate.familiarisation
    rule_path = path.with_name(f"{path.stem}.rule.json")
    rule_path.write_text(
        json.dumps(
            {
                "rule": dataclasses.asdict(fam.rule),
                "q_g": surrogate.q_g,
                "n_presynaptic": fam.n_presynaptic,
                "n_repetitions": fam.n_repetitions,
                "threshold_slide": fam.threshold_slide,
                "presynaptic": dataclasses.asdict(fam.presynaptic),
                "note": "surrogate recordings made by helpers.data.simulate_recordings, not real data",
            },
            indent=2,
        )
    )
    return path, truth_path, rule_path
