import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import data, transfer
from helpers.rules import RuleParams


@pytest.fixture(scope="module")
def surrogate():
    population = data.draw_population(12, rng=1)
    return data.simulate_recordings(population, n_novel=60, n_familiar=60, n_trials=4, window=0.5, rng=2)


def small_table():
    rows = [
        {"neuron": "a", "stimulus": f"s{s}", "condition": "novel", "trial": t, "spike_count": s + t, "window": 0.5}
        for s in range(5)
        for t in range(2)
    ]
    return pd.DataFrame(rows)


# --- the format ------------------------------------------------------------------------------


def test_valid_table_passes_with_canonical_types():
    clean = data.validate_recordings(small_table(), min_stimuli=5)
    assert list(clean.columns) == list(data.COLUMNS)
    assert clean["spike_count"].dtype == np.int64 and clean["neuron"].iloc[0] == "a"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="window"), r"missing column\(s\) \['window'\]"),
        (lambda t: t.assign(spike_count=t["spike_count"].where(t.index != 3, -2)), "'spike_count'.*row 3 has -2"),
        (lambda t: t.assign(spike_count=t["spike_count"].astype(float).where(t.index != 4, 1.5)), "row 4 has 1.5"),
        (lambda t: t.assign(condition=t["condition"].where(t.index != 2, "boring")), "'condition'.*row 2 has 'boring'"),
        (lambda t: t.assign(window=t["window"].where(t.index != 1, 0.0)), "'window'.*row 1"),
        (lambda t: t.assign(trial=t["trial"].astype(object).where(t.index != 0, "x")), "'trial'.*row 0"),
        (lambda t: t.assign(neuron=t["neuron"].where(t.index != 5, None)), "'neuron' has a missing value in row 5"),
        (lambda t: pd.concat([t, t.iloc[[6]]], ignore_index=True), "row 10 repeats"),
        (lambda t: t[t["stimulus"] != "s4"], r"neuron 'a' has 4 novel stimuli.*min_stimuli=5"),
    ],
)
def test_malformed_tables_are_refused_naming_the_field(change, message):
    with pytest.raises(data.RecordingsError, match=message):
        data.validate_recordings(change(small_table()), min_stimuli=5)


def test_required_conditions():
    table = small_table()
    with pytest.raises(data.RecordingsError, match="neuron 'a' has 0 familiar stimuli"):
        data.validate_recordings(table, min_stimuli=5, conditions=("novel", "familiar"))
    with pytest.raises(ValueError, match="conditions must be a non-empty subset"):
        data.validate_recordings(table, conditions=("boring",))


def test_loader_round_trip_and_file_errors(tmp_path, surrogate):
    path = data.write_recordings(surrogate.table, tmp_path / "rec.csv")
    loaded = data.load_recordings(path)
    assert len(loaded) == len(surrogate.table)
    np.testing.assert_array_equal(loaded["spike_count"], surrogate.table["spike_count"])

    with pytest.raises(data.RecordingsError, match="not found: missing.csv"):
        data.load_recordings(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    small_table().drop(columns="condition").to_csv(bad, index=False)
    with pytest.raises(data.RecordingsError, match=r"bad.csv: missing column\(s\) \['condition'\]"):
        data.load_recordings(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(data.RecordingsError, match="empty.csv: the file is empty; the first line must name"):
        data.load_recordings(empty)
    with pytest.raises(data.RecordingsError, match="a_folder is a folder; recordings are one CSV file"):
        data.load_recordings((tmp_path / "a_folder").mkdir() or tmp_path / "a_folder")


HEADER = "neuron,stimulus,condition,trial,spike_count,window\n"


def recordings_file(tmp_path, rows: str, header: str = HEADER):
    """A recordings file of three stimuli with one trial each (min_stimuli 3), edited by the caller."""
    path = tmp_path / "rec.csv"
    path.write_text(header + rows)
    return path


GOOD_ROWS = "001,1.1,novel,1,4,0.5\n001,1.10,novel,1,5,0.5\nNA,1.1,novel,1,6,0.5\nNA,s2,novel,1,0,0.5\n" \
    "001,s3,novel,1,2,0.5\nNA,s3,novel,1,1,0.5\n"


def test_the_loader_keeps_identifiers_as_written(tmp_path):
    loaded = data.load_recordings(recordings_file(tmp_path, GOOD_ROWS), min_stimuli=3)
    assert list(loaded["neuron"].unique()) == ["001", "NA"], "001 is not 1, and NA is a name, not a missing value"
    assert sorted(loaded[loaded["neuron"] == "001"]["stimulus"]) == ["1.1", "1.10", "s3"], "1.1 and 1.10 differ"
    assert list(loaded["spike_count"]) == [4, 5, 6, 0, 2, 1]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # a line of the file as an editor numbers it: the header is line 1, so the first row is line 2
        (GOOD_ROWS.replace(",4,", ",True,"), r"'spike_count' must hold non-negative integers .*; line 2 has 'True'"),
        (GOOD_ROWS.replace(",5,", ",99999999999999999999,"), "line 3 has '99999999999999999999'"),
        (GOOD_ROWS.replace(",6,", ",2.5,"), "line 4 has '2.5'"),
        (GOOD_ROWS.replace("NA,s2,novel,1", "NA,s2,novel,False"), "'trial' must hold integers; line 5 has 'False'"),
        (GOOD_ROWS.replace(",0.5\n", ",0.5,\n", 1), r"line 2 has 7 fields, the header 6 \(a trailing comma"),
        (GOOD_ROWS.replace("\nNA,s2", "\n\nNA,s2"), "line 5 is blank; remove it"),
        (GOOD_ROWS + "\n", "line 8 is blank"),
        (GOOD_ROWS.replace("NA,s3,novel", "NA,s3,"), "'condition' has a missing value in line 7"),
        (GOOD_ROWS.replace("NA,s3,novel,1,1,0.5", "NA,s3,novel,1,1,nan"), "'window' must be a positive .*line 7"),
        (GOOD_ROWS + "NA,s3,novel,1,1,0.5\n", r"line 8 repeats \(neuron, stimulus, condition, trial\)"),
    ],
)
def test_the_loader_refuses_what_it_would_change_naming_the_line(tmp_path, rows, message):
    with pytest.raises(data.RecordingsError, match=message):
        data.load_recordings(recordings_file(tmp_path, rows), min_stimuli=3)


def test_the_loader_refuses_a_header_with_a_trailing_comma(tmp_path):
    with pytest.raises(data.RecordingsError, match=r"line 1 \(the header\) has an empty column name in field 7"):
        data.load_recordings(recordings_file(tmp_path, GOOD_ROWS, header=HEADER.replace("\n", ",\n")), min_stimuli=3)


def test_the_loader_refuses_a_column_named_twice(tmp_path):
    header = HEADER.replace("window", "trial")
    with pytest.raises(data.RecordingsError, match=r"the header\) names column\(s\) \['trial'\] more than once"):
        data.load_recordings(recordings_file(tmp_path, GOOD_ROWS, header=header), min_stimuli=3)


def test_booleans_and_huge_counts_are_refused_in_a_table_too():
    table = small_table()
    with pytest.raises(data.RecordingsError, match="'spike_count'.*row 0 has True"):
        data.validate_recordings(table.assign(spike_count=True), min_stimuli=5)
    with pytest.raises(data.RecordingsError, match="'spike_count'.*row 2 has 1e"):
        data.validate_recordings(table.assign(spike_count=table["spike_count"].astype(float).where(
            table.index != 2, 1e19)), min_stimuli=5)


def test_surrogate_is_written_with_its_ground_truth(tmp_path, surrogate):
    recordings, truth, rule = data.write_surrogate(surrogate, tmp_path / "surrogate.csv")
    assert len(data.load_recordings(recordings)) == len(surrogate.table)
    pd.testing.assert_frame_equal(pd.read_csv(truth), surrogate.truth, check_dtype=False)
    saved = json.loads(rule.read_text())
    assert saved["rule"]["x_f"] == surrogate.familiarisation.rule.x_f and saved["q_g"] == surrogate.q_g
    assert "surrogate" in saved["note"]


def test_stimulus_totals_sum_trials():
    totals = data.stimulus_totals(data.validate_recordings(small_table(), min_stimuli=5))
    assert len(totals) == 5
    first = totals.iloc[0]
    assert first["spike_count"] == 0 + 1 and first["exposure"] == 1.0 and first["rate"] == 1.0


# --- the surrogate ---------------------------------------------------------------------------


def test_population_is_reproducible_and_within_published_ranges():
    a, b = data.draw_population(200, rng=3), data.draw_population(200, rng=3)
    pd.testing.assert_frame_equal(a, b)
    for name, (low, high) in data.PUBLISHED_RANGES.items():
        assert a[name].between(low, high).all()
    assert np.median(a["beta"]) == pytest.approx(transfer.PUBLISHED_MEDIANS.beta, rel=0.1)


def test_surrogate_shape_and_reproducibility(surrogate):
    table = surrogate.table
    assert len(table) == 12 * (60 + 60) * 4
    data.validate_recordings(table)  # follows its own format
    again = data.simulate_recordings(
        data.draw_population(12, rng=1), n_novel=60, n_familiar=60, n_trials=4, window=0.5, rng=2
    )
    pd.testing.assert_frame_equal(table, again.table)


def test_novel_rates_follow_the_effective_transfer_function():
    # noise-free check of the ground truth: with very long windows, measured rates are the rates
    population = data.draw_population(3, rng=4)
    surrogate = data.simulate_recordings(population, n_novel=3000, n_familiar=100, n_trials=1, window=200.0, rng=5)
    totals = data.stimulus_totals(surrogate.table)
    for neuron, cell in surrogate.truth.set_index("neuron").iterrows():
        rates = totals[(totals["neuron"] == neuron) & (totals["condition"] == "novel")]["rate"]
        effective = transfer.TransferParams(cell["r_max"], cell["beta_eff"], cell["h0_eff"])
        cdf = lambda r, p=effective: stats.norm.cdf(transfer.phi_inverse(np.clip(r, 1e-9, p.r_max - 1e-9), p))  # noqa: E731
        assert stats.kstest(rates, cdf).pvalue > 0.001
        assert cell["input_sd"] > 1.0  # learned synapses add input variance


def test_familiarisation_potentiates_strong_and_depresses_weak_responses():
    # Each neuron's rule depresses below its threshold and potentiates above: its strongest
    # responses, where they exceed the threshold, grow with familiarity, and its median
    # response, below threshold, shrinks.
    population = data.draw_population(80, rng=6)
    surrogate = data.simulate_recordings(population, n_novel=400, n_familiar=400, n_trials=1, window=100.0, rng=7)
    threshold = surrogate.truth.set_index("neuron")["threshold"]
    totals = data.stimulus_totals(surrogate.table)
    rates = totals.groupby(["neuron", "condition"], observed=True)["rate"]
    top, q50 = rates.quantile(0.98).unstack(), rates.quantile(0.5).unstack()
    strong = top["novel"] > 1.2 * threshold
    assert strong.sum() >= 10, strong.sum()
    assert (top["familiar"] > top["novel"])[strong].mean() > 0.8
    assert (q50["familiar"] < q50["novel"]).mean() > 0.8


def test_weak_rule_leaves_familiar_responses_like_novel_ones():
    population = data.draw_population(20, rng=8)
    weak = data.Familiarisation(rule=RuleParams(A=1e-6))
    surrogate = data.simulate_recordings(
        population, n_novel=300, n_familiar=300, n_trials=1, window=50.0, familiarisation=weak, rng=9
    )
    totals = data.stimulus_totals(surrogate.table)
    for _, group in totals.groupby("neuron"):
        novel = group[group["condition"] == "novel"]["rate"]
        familiar = group[group["condition"] == "familiar"]["rate"]
        assert stats.ks_2samp(novel, familiar).pvalue > 1e-3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_novel": 2}, "n_novel must be an integer >= 3"),
        ({"n_trials": 0}, "n_trials must be an integer >= 1"),
        ({"window": -0.1}, "window must be a finite number > 0"),
    ],
)
def test_bad_design_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.simulate_recordings(data.draw_population(2, rng=0), rng=0, **kwargs)
