"""The chapters: jupytext pairs in sync, stored outputs clean, reruns through papermill.

Fresh execution of the committed notebooks against their stored outputs is nbval's job
(``pytest --nbval-lax notebooks``, part of ``make test``).
"""

import base64
import json
import re
import struct

import jupytext
import nbformat
import papermill
import pytest
from conftest import ROOT

from helpers import data, sweep

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
STEMS = [path.stem for path in NOTEBOOKS]

#: Small parameters for a quick papermill rerun of each chapter, and a bad value that must stop it.
SMALL = {
    "01_transfer_function": {
        "n_neurons": 20,
        "n_stimuli": 200,
        "n_familiar": 20,
        "n_trials": 10,
        "n_boot": 5,
        "recovery_stimuli": [100],
        "recovery_trials": [2],
        "recovery_neurons": 15,
        "seed": 7,
    },
    "02_learning_rule": {"n_neurons": 60, "n_stimuli": 200, "n_familiar": 200, "n_boot": 50, "seed": 7},
    "03_network_training": {
        "n_neurons": 1500,
        "c": 0.1,
        "n_patterns": 20,
        "n_realisations": 5,
        "recurrent_gains": [0.0, 1.0],
        "presentation": 0.05,
        "sequence_length": 60,
        "decay": 0.02,
        "n_probed": 6,
        "seed": 7,
    },
    "04_attractor_retrieval": {
        "n_neurons": 10000,  # smaller networks lose fixed-point and chaotic retrieval (checked at 4000)
        "c": 0.01,
        "loads": [0.1, 0.4, 1.5],
        "n_realisations": 1,
        "n_cued": 4,
        "settle": 0.1,
        "delay": 0.2,
        "cue_correlations": [0.2, 1.0],
        "protocol_neurons": 10000,  # below the paper's size: bistability is run and printed, not asserted
        "protocol_c": 0.01,
        "n_novel": 2,
        "seed": 7,
    },
    "05_hopfield": {
        "n_neurons": 400,
        "capacity_sizes": [400, 800],
        "capacity_loads": [0.05, 0.1, 0.15, 0.2, 0.25],
        "capacity_trials": 8,
        "temperature_neurons": 1000,
        "betas": [0.5, 2.0],
        "temperature_sweeps": 20,
        "sparse_neurons": 600,
        "coding_levels": [0.5, 0.1],
        "sparse_loads": [0.05, 0.2, 0.6, 1.2],
        "sparse_trials": 4,
        "ei_excitatory": 2000,
        "ei_loads": [0.05, 0.15],
        "ei_cues": 4,
        "seed": 7,
    },
    "06_gardner": {
        "capacity_sizes": [30, 60],
        "capacity_samples": 10,
        "robust_inputs": 60,
        "silent_loads": [0.3, 0.8],
        "robust_loads": [0.1, 0.3],
        "balance_inputs": 80,
        "balance_fractions": [0.5, 0.9],
        "balance_samples": 6,
        "rate_inputs": 60,
        "rate_samples": 6,
        "network_neurons": 80,
        "noise_levels": [0.05, 0.5],
        "distortions": [0.05],
        "network_trials": 4,
        "theory_sizes": [50, 100],
        "theory_loads_in": [0.3, 0.6],
        "theory_loads_out": [0.3, 0.6],
        "theory_samples": [6, 4],
        "seed": 7,
    },
    "appendix_benchmarks": {"results": "../benchmarks/results/latest.json"},
    "retrieval_point": {"load": 0.8, "amplitude": 3.0, "n_neurons": 5000, "c": 0.02, "n_cued": 4, "settle": 0.1,
                        "seed": 7},
    # A sweep of two points; its folder is under the repository's ignored runs/ (a rerun reuses it).
    "sweep_retrieval": {"loads": [0.05, 0.8], "amplitudes": [3.55], "n_neurons": 5000, "c": 0.02, "workers": 2,
                        "out": "../runs/sweeps/test-small"},
    "07_information": {
        "n_neurons": 4000,
        "c": 0.02,
        "load": 0.1,
        "n_stimuli": 3,
        "n_repeats": 6,
        "n_recorded": 8,
        "n_boot": 10,
        "sweep_loads": [0.1, 1.0],
        "sweep_noise": [0.25, 2.0],
        "sweep_stimuli": 2,
        "sweep_repeats": 5,
        "seed": 7,
    },
    "08_balanced_networks": {
        # the checks hold the simulation to the finite-K theory at the largest K: it must be 1000
        "binary_in_degrees": [200, 1000],
        "network_scale": 0.5,
        "diagram_g": [3.0, 5.0],
        "diagram_eta": [2.0],
        "talk_duration": 4000.0,
        "seed": 7,
    },
    "09_spiking_memory": {
        # the network is tuned at full size (smaller, its patterns hold no state): less of it is run
        "diagram_J_S": [19.0, 21.0, 23.0],
        "n_shown": 3,
        "background_duration": 3000.0,
        "dms_delay": 500.0,
        "perturbations": [1e-6, 1.0],
        "perturbation_dts": [0.1],
        "perturbation_duration": 300.0,
        "capacity_loads": [30, 80],
        "capacity_cued": 2,
        "capacity_sizes": [8000],
        "twin_loads": [100, 200],
        "larger_patterns": [{"coding_level": 0.2, "n_patterns": 10, "J_S": 23.5}],
        "remedy_background": 1000.0,
        "seed": 7,
    },
    "10_stdp_memory": {
        # a quarter of Vogels' network, learning faster: the rates still settle at the target
        "drift_post_rates": [1.0, 3.0, 8.0],
        "drift_trials": 8,
        "drift_seconds": 50.0,
        "n_exc": 2000,
        "eps": 0.08,
        "eta_nS": 0.3,
        "learning_duration": 6000.0,
        "bin_ms": 500.0,
        "trace_ms": 50.0,
        # four assemblies instead of eight. (At half the network, 1000 neurons, with four
        # assemblies of 150, the stimulated assemblies ignited the network in the fourth round and
        # the assemblies melted: each is a larger part of its neurons' input there. With six rounds
        # of training instead of eight, two of the four completed from half a cue.)
        "n_assemblies": 4,
        "correlated_patterns": 3,
        "inhibition_ms": 3000.0,
        "seed": 7,
    },
}
BAD = {
    "01_transfer_function": [
        ("n_trials", 0, "n_trials must be an integer >= 1, got 0"),
        ("level", 1.5, r"level must be a number in \[0.5, 1\), got 1.5"),
        ("window", float("nan"), r"window must be a number in \(0, 10\] s, got nan"),
        ("recovery_stimuli", [10], r"recovery_stimuli must be a non-empty list of integers >= 20, got \[10\] "
         r"\(item 1, 10, is not an integer >= 20\)"),
    ],
    "02_learning_rule": [
        ("rule_amplitude", 0, r"rule_amplitude must be a number in \(0, 3\] input SDs, got 0"),
        ("n_boot", 3, "n_boot must be an integer >= 10, got 3"),
        ("n_boot", 20.0, "n_boot must be an integer >= 10, got 20.0"),
        ("recordings", 5, "recordings must be a file path or '', got 5"),
    ],
    "03_network_training": [
        ("c", 1.5, r"c must be a number in \(0, 1\], got 1.5"),
        ("bound", float("inf"), r"bound must be a finite number > 0 \(units of A / cN\), got inf"),
        ("fixed_in_degree", 1, "fixed_in_degree must be True or False, got 1"),
        ("rule", {"A": 1.0}, r"rule must be 'published', or a dict with exactly the keys A .*\(its keys are \['A'\]\)"),
        ("rule", {"A": 3.55, "q_f": float("nan"), "beta_f": 0.28, "x_f": 26.6},
         r"\(its q_f must be a number in \[0, 1\], got nan\)"),
        ("recurrent_gains", [0.5, 2.0], r"recurrent_gains must be a list of at least 2 numbers in \[0, 1\], "
         r"including 0.0, got \[0.5, 2.0\] \(item 2, 2.0, is not a number in \[0, 1\]\)"),
        ("n_probed", 500, r"n_probed <= sequence_length must hold \(probed patterns are learned\); "
         "got n_probed = 500, sequence_length = 120"),
    ],
    "04_attractor_retrieval": [
        ("c", 0.001, r"c \* \(n_neurons - 1\) >= 50 must hold \(at least 50 inputs per neuron\); "
         "got c = 0.001, n_neurons = 20000"),
        ("chaotic_factor", float("inf"), "chaotic_factor must be a finite number > 1, got inf"),
        ("loads", [0.1, 5.0], r"loads must be a list of at least 3 numbers in \(0, 3\], got \[0.1, 5.0\] "
         r"\(it has 2\)"),
        ("delay", 0.0, r"delay must be a number in \[0.1, 10\] s, got 0.0"),
        ("chaotic_load", 0.01, r"round\(chaotic_load \* c \* \(n_neurons - 1\)\) >= n_cued must hold"),
        ("protocol_neurons", 500, "protocol_neurons must be an integer >= 1000, got 500"),
    ],
    "05_hopfield": [
        ("cue_flip", 0.7, r"cue_flip must be a number in \(0, 0.5\), got 0.7"),
        ("capacity_sizes", [1000, 500], r"capacity_sizes must be an increasing list of at least 2 integers in "
         r"\[200, 20000\], got \[1000, 500\] \(it is not increasing\)"),
        ("coding_levels", [0.1, 0.5], r"coding_levels must be a decreasing list .* \(it is not decreasing\)"),
        ("capacity_trials", 6, r"capacity_trials must be an integer >= 4, a multiple of 4 \(4 cued patterns per "
         r"network\), got 6"),
    ],
    "06_gardner": [
        ("kappa", 0, r"kappa must be a number in \(0, 2\], got 0"),
        ("capacity_sizes", [100, 50], "capacity_sizes must be an increasing list of at least 2 integers >= 20"),
        ("excitatory_fraction", 0.3, r"excitatory_fraction must be a number in \(0.5, 1\], got 0.3"),
        ("norm_bound", -1, "norm_bound must be a finite number > 0, got -1"),
        ("norm_bound", float("inf"), "norm_bound must be a finite number > 0, got inf"),
        ("network_coding", [0.3], r"network_coding must be a list of 2 numbers in \[0.05, 0.5\], got \[0.3\]"),
        ("balance_codings", [[0.5]], r"balance_codings must be a non-empty list of lists of 2 numbers in "
         r"\[0.01, 0.95\], got \[\[0.5\]\] \(item 1, \[0.5\], is not a list of 2 numbers"),
        ("checkpoint_dir", 3, "checkpoint_dir must be a folder path or '', got 3"),
        ("theory_loads_in", [0.5, 1.2], r"theory_loads_in must stay below alpha_c = 1.000 for these inputs"),
        ("theory_samples", [6], r"theory_samples must be a list of 2 integers >= 4, got \[6\]"),
    ],
    "retrieval_point": [
        ("load", 0, r"load must be a number in \(0, 3\], got 0"),
        ("c", 0.001, r"c \* \(n_neurons - 1\) >= 50 must hold \(at least 50 inputs per neuron\)"),
        ("load", 0.0001, r"round\(load \* c \* n_neurons\) >= 1 must hold \(at least 1 stored pattern\)"),
        ("amplitude", "big", r"amplitude must be a number in \(0, 50\], got 'big'"),
    ],
    "sweep_retrieval": [
        ("loads", [0.1, 0.1], r"loads must be a non-empty list of numbers in \(0, 3\], all different, "
         r"got \[0.1, 0.1\] \(a value is repeated\)"),
        ("workers", 0, "workers must be an integer >= 1, got 0"),
        ("out", "", "out must be a folder path, got ''"),
        ("n_neurons", 500, "n_neurons must be an integer >= 1000, got 500"),
        # A value only the swept notebook rejects: the sweep stops before any run, with its message.
        ("c", 0.001, r"retrieval_point.ipynb rejects 16 of 16 points:[\s\S]*c \* \(n_neurons - 1\) >= 50 must hold"),
    ],
    "appendix_benchmarks": [
        ("results", 5, "results must be a file path, got 5"),
        ("results", "no_such.json", r"results: no file no_such.json \(run make bench to write it\)"),
    ],
    "07_information": [
        ("n_repeats", 3, r"n_repeats must be an integer >= 5 \(the decoder's folds\), got 3"),
        ("input_noise", -0.5, r"input_noise must be a number in \[0, 10\], got -0.5"),
        ("n_population", 100, r"n_population <= n_recorded must hold \(the population is recorded\)"),
        ("sweep_loads", [0.4, 0.1], "sweep_loads must be an increasing list of at least 2 numbers"),
        ("load", 0.01, r"round\(load \* c \* n_neurons\) >= n_stimuli must hold \(a stored pattern for each "
         "familiar stimulus\\); got c = 0.008, load = 0.01"),
        ("dt", 0.01, r"dt must be a number in \[0.0001, 0.002\] s, got 0.01"),
    ],
    "08_balanced_networks": [
        ("network_scale", 0.1, r"network_scale must be a number in \[0.5, 1\] \(smaller, the asynchronous state's "
         r"rhythm nears the threshold\), got 0.1"),
        ("binary_in_degrees", [400, 100], "binary_in_degrees must be an increasing list of at least 2 integers"),
        ("binary_density", 0.01, r"max\(max\(binary_in_degrees\), binary_k_sweep\) \*\* 2 <= 20000000 \* "
         r"binary_density must hold \(at most 80 million synapses in a binary network\)"),
        ("nest_duration", -1.0, r"nest_duration must be a number in \[0, 100000\] ms, got -1.0"),
        ("binary_m0", [0.05, 0.08, 0.2], r"binary_m0\[-3\] >= 0.1 must hold"),
        ("diagram_eta", [4.5], r"diagram_eta must be a non-empty increasing list of numbers in \[0.5, 4\], got "
         r"\[4.5\]"),
    ],
    "09_spiking_memory": [
        ("n_exc", 500, r"n_exc must be an integer in \[2000, 100000\] \(smaller, a pattern's few neurons cannot hold "
         r"a state\), got 500"),
        ("perturbation_dts", [0.05, 0.1], "perturbation_dts must be a non-empty decreasing list"),
        ("capacity_loads", [2, 40], r"n_shown <= n_patterns and capacity_cued <= min\(capacity_loads\) must hold"),
        ("hold", 500.0, r"hold >= cue_duration \+ reset_duration \+ 4 \* bin_ms must hold"),
        ("tau_syn", 10.0, r"tau_syn must be a number in \[0, 5\] ms \(the theory's correction needs synapses faster "
         r"than tau_m\), got 10.0"),
        ("slow_excitation", {"tau_slow": 50.0}, "slow_excitation must be"),
    ],
    "10_stdp_memory": [
        ("n_exc", 100, r"n_exc must be an integer in \[800, 80000\] \(smaller, a neuron has too few inputs at these "
         r"weights\), got 100"),
        ("eta_nS", -0.1, r"eta_nS must be a number in \(0, 10\] nS, got -0.1"),
        ("drift_post_rates", [4.0, 5.0, 6.0], r"drift_post_rates\[0\] < rho0 < drift_post_rates\[-1\] must hold"),
        ("bin_ms", 5000.0, r"learning_duration >= 8 \* bin_ms and static_duration >= bin_ms must hold"),
        ("eps", 0.005, r"eps \* n_exc >= 80 must hold"),
        ("assembly_size", 300, r"n_assemblies \* assembly_size <= assembly_n_exc must hold"),
        ("w_max", 1.0, r"w_max must be a number in \(1, 20\], got 1.0"),
        ("stimulus_correlation", 0.2, r"stimulus_correlation must be a number in \[0.6, 0.99\] \(the checks assert"),
        ("fit_quantile", 0.3, r"fit_quantile must be a number in \[0.5, 1\], got 0.3"),
    ],
}
#: "(61.2 s)", "(157 s so far)", "all checks passed (49 s)": run times in stored outputs.
TIMINGS = re.compile(r"\(\d+(\.\d+)? s( so far)?\)")
ADDRESSES = re.compile(r" at 0x[0-9a-f]+>")  # e.g. <matplotlib.legend.Legend at 0x7f39799f4a90>
MACHINE_PATHS = re.compile(r"(/[w]ork/|/[t]mp/|/[r]oot/|/[h]ome/\w+|site-packages)")  # classes: not a path itself


def test_every_chapter_has_small_and_bad_parameters():
    assert STEMS, "no notebooks found"
    assert set(STEMS) == set(SMALL) == set(BAD)


def run_chapter(stem, tmp_path, parameters):
    return papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{stem}.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters=parameters,
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
        kernel_name="python3",
    )


def sources(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.parametrize("stem", STEMS)
def test_pair_in_sync(stem):
    text = jupytext.read(ROOT / "notebooks" / f"{stem}.md")
    executed = jupytext.read(ROOT / "notebooks" / f"{stem}.ipynb")
    assert sources(text) == sources(executed), f"{stem}: run 'make sync' and re-execute the notebook"


@pytest.mark.parametrize("stem", STEMS)
def test_conventions(stem):
    notebook = jupytext.read(ROOT / "notebooks" / f"{stem}.md")
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"({stem})=\n# "), (
        "label equal to the stem, then title"
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell is tagged parameters"
    assert "PARAMETERS = declare(" in code[1].source and "PARAMETERS.check(globals())" in code[1].source, (
        "the parameters are declared and checked right after the parameters cell"
    )
    assert any(cell.cell_type == "markdown" and re.search(r"^## Checks$", cell.source, re.M) for cell in notebook.cells)
    assert any("nbval-check-output" in cell.metadata.get("tags", []) for cell in code)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    if re.match(r"\d\d_", stem):  # a chapter ends with a Summary of what it showed
        headings = [h for cell in notebook.cells if cell.cell_type == "markdown"
                    for h in re.findall(r"^## (.+)$", cell.source, re.M)]
        assert headings[-1] == "Summary", headings


@pytest.mark.parametrize("stem", STEMS)
def test_stored_outputs_are_complete_and_clean(stem):
    notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell.get("execution_count") for cell in code), "every code cell executed"
    outputs = [output for cell in code for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 1, "figures stored"
    assert not MACHINE_PATHS.search(json.dumps(outputs)), "an output shows a path of this machine"
    assert not TIMINGS.search(json.dumps(outputs)), "an output shows a wall-clock time (it differs run to run)"
    assert not ADDRESSES.search(json.dumps(outputs)), "an output shows an object's address (end the line with ';')"


COLUMN_PX = 684  # the book's text column at 1280 px of screen: a wider figure is shrunk, with its fonts


@pytest.mark.parametrize("stem", STEMS)
def test_stored_figures_fit_the_column(stem):
    notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    widths = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                header = base64.b64decode("".join(png) if isinstance(png, list) else png)[:24]
                widths.append(struct.unpack(">I", header[16:20])[0])
    assert widths and max(widths) <= COLUMN_PX, widths


@pytest.mark.notebooks
@pytest.mark.parametrize("stem", STEMS)
def test_papermill_rerun_with_small_parameters(stem, tmp_path):
    executed = run_chapter(stem, tmp_path, SMALL[stem])
    assert executed.metadata["papermill"]["parameters"] == SMALL[stem]


@pytest.mark.notebooks
@pytest.mark.parametrize(("stem", "name", "value", "message"), [(s, *bad) for s in STEMS for bad in BAD[s]])
def test_bad_parameter_stops_naming_it(stem, name, value, message, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        run_chapter(stem, tmp_path, {name: value})
    assert error.value.ename in ("ParameterError", "ValueError")
    assert re.search(message, error.value.evalue), error.value.evalue


def misspelled(name: str) -> str:
    """A typo a user makes: a letter left out (n_neurons -> n_neurns, seed -> sed)."""
    return name[:-2] + name[-1]


@pytest.mark.notebooks
@pytest.mark.parametrize("stem", STEMS)
def test_a_misspelled_parameter_stops_the_run_naming_it(stem, tmp_path):
    names = sweep.notebook_declaration(ROOT / "notebooks" / f"{stem}.ipynb").names
    typo = misspelled(names[-1])
    with pytest.raises(papermill.PapermillExecutionError) as error:
        run_chapter(stem, tmp_path, {typo: 5})
    assert error.value.ename == "ParameterError"
    assert f"{typo} is not a parameter of this notebook (did you mean {names[-1]}?)" in error.value.evalue
    assert f"the parameters are: {', '.join(names)}" in error.value.evalue
    # the run stopped in the declaration's cell, before any other work
    code = [cell for cell in nbformat.read(str(tmp_path / "out.ipynb"), as_version=4).cells
            if cell.cell_type == "code"]
    stopped = next(i for i, cell in enumerate(code) if "PARAMETERS.check(globals())" in cell.source)
    assert not [cell for cell in code[stopped + 1:] if cell.execution_count], "cells ran after the check"


@pytest.mark.parametrize("stem", STEMS)
def test_papermill_reads_the_declared_parameters_from_the_parameters_cell(stem):
    """papermill warns of unknown parameters by reading the parameters cell: it must see them all."""
    path = ROOT / "notebooks" / f"{stem}.ipynb"
    declared = sweep.notebook_declaration(path).names
    assert sorted(papermill.inspect_notebook(str(path))) == sorted(declared)
    assert sorted(sweep.notebook_parameters(path)) == sorted(declared), "every parameter has a literal default"


@pytest.mark.notebooks
def test_chapter_2_runs_on_a_recordings_file(tmp_path):
    surrogate = data.simulate_recordings(data.draw_population(12, rng=1), n_novel=60, n_familiar=60, rng=2)
    path = data.write_recordings(surrogate.table, tmp_path / "my_recordings.csv")
    executed = run_chapter("02_learning_rule", tmp_path, {"recordings": str(path), "n_boot": 10})
    printed = "".join(
        "".join(output.get("text", ""))
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "recordings my_recordings.csv: 12 neurons" in printed
    assert "pooled rule" in printed and str(tmp_path) not in printed


@pytest.mark.notebooks
def test_chapter_2_stops_on_a_malformed_recordings_file(tmp_path):
    surrogate = data.simulate_recordings(data.draw_population(3, rng=1), n_novel=30, n_familiar=30, rng=2)
    path = tmp_path / "broken.csv"
    surrogate.table.drop(columns="window").to_csv(path, index=False)
    with pytest.raises(papermill.PapermillExecutionError) as error:
        run_chapter("02_learning_rule", tmp_path, {"recordings": str(path)})
    assert error.value.ename == "RecordingsError"
    assert "broken.csv: missing column(s) ['window']" in error.value.evalue
