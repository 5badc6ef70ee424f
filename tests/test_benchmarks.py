"""The benchmarks run and their constructions agree; their timings are never asserted."""

from benchmarks import capacity_curve, hebbian_weights, hopfield_retrieval, rate_dynamics


def test_hebbian_weight_benchmark_runs_and_its_baselines_agree():
    # run() raises if any baseline's weights differ from the kernel's
    result = hebbian_weights.run(n=300, c=0.1, p=7, repeats=1)
    names = [row["construction"] for row in result["rows"]]
    assert names[0] == "package kernel" and "dense product, then mask" in names
    fastest = min(result["rows"][1:], key=lambda row: row["seconds"])
    assert result["best_baseline"] == fastest["construction"]
    assert result["memory_fraction_of_best"] == result["rows"][0]["peak_bytes"] / fastest["peak_bytes"]
    assert all(row["seconds"] > 0 and row["peak_bytes"] > 0 for row in result["rows"])
    assert "Hebbian weights: N = 300" in hebbian_weights.show(result)


def test_rate_dynamics_benchmark_runs_and_its_baselines_agree():
    # run_workload() raises if a baseline's step differs from the kernel's
    result = rate_dynamics.run_workload(n=500, c=0.1, repeats=1, bandwidth=1e10)
    names = [row["candidate"] for row in result["rows"]]
    assert names[0] == "package kernel" and result["best_baseline"].startswith("scipy CSR")
    assert all(row["seconds_per_step"] > 0 and row["fraction_of_bound"] > 0 for row in result["rows"])
    assert result["workload"]["weight_bytes"] == 6 * result["workload"]["n_synapses"] + 8 * 501
    folded = result["folded_gathers"]
    assert folded["rows_gathered"] == 100 and folded["gathered_bytes"] == 100 * 8 * 4
    assert folded["ratio"] == folded["scipy_seconds_per_step"] / folded["package_seconds_per_step"]
    assert folded["speedup_from_folding"] == (folded["package_unfolded_seconds_per_step"]
                                              / folded["package_seconds_per_step"])
    text = rate_dynamics.show({"read_bandwidth_bytes_per_s": 1e10, "workloads": [result]})
    assert "Euler step: N = 500" in text and "of the bandwidth bound" in text
    assert "every gather folded into 100 rows" in text


def test_folding_keeps_each_synapse_and_its_weight_and_only_moves_where_it_reads():
    import numpy as np

    from helpers import network

    rng = np.random.default_rng(3)
    connectivity = network.random_connectivity(300, 0.1, rng)
    weights = network.SparseWeights(connectivity, rng.standard_normal(connectivity.n_synapses).astype(np.float32))
    folded = rate_dynamics.fold_presynaptic(weights, 60)
    conn = folded.connectivity
    assert np.array_equal(conn.indptr, connectivity.indptr) and conn.indices.max() < 60
    dense, dense_folded = weights.to_scipy().toarray(), folded.to_scipy().toarray()
    for i in (0, 17, 299):
        row = slice(conn.indptr[i], conn.indptr[i + 1])
        assert np.all(np.diff(conn.indices[row].astype(int)) >= 0)  # still sorted within the row
        # neuron i's weights, summed over the pre-synaptic neurons that fold onto the same one
        expected = np.bincount(np.arange(300) % 60, weights=dense[i], minlength=60)
        np.testing.assert_allclose(dense_folded[i, :60], expected, rtol=1e-6, atol=1e-6)


def test_read_bandwidth_is_a_rate():
    assert rate_dynamics.read_bandwidth(n_bytes=8 * 2**20, repeats=1) > 1e8  # more than 100 MB/s


def test_hopfield_benchmark_runs_and_its_baselines_agree():
    # run() raises if a baseline's final state differs from the kernel's
    result = hopfield_retrieval.run(n=300, p=15, repeats=1)
    names = [row["candidate"] for row in result["rows"]]
    kernel = ["package kernel", "package kernel, symmetric=None"]
    assert names == [*kernel, "numpy loop, incremental fields", "neurodynex3"]
    assert result["rows"][2]["seconds"] > 0 and result["workload"]["final_overlap"] > 0.99
    assert result["workload"]["symmetry_check_seconds"] > 0
    assert "Asynchronous Hopfield retrieval: N = 300" in hopfield_retrieval.show(result)


def test_capacity_curve_benchmark_runs_and_its_verdicts_agree():
    # run() raises if the package's verdicts differ from dense linprog's
    result = capacity_curve.run(n=30, n_samples=3)
    assert [row["linear_programs"] for row in result["rows"]][1] == 15
    assert 3 <= result["rows"][0]["linear_programs"] <= 9
    assert "Capacity curve: N = 30" in capacity_curve.show(result)
    assert capacity_curve.bisection_steps([True, True, True, False, False]) == 2


def test_summary_collects_every_ratio_and_reports_what_is_missing(tmp_path):
    import json

    from benchmarks import summary

    results = {
        "hebbian_weights": hebbian_weights.run(n=300, c=0.1, p=7, repeats=1),
        "rate_dynamics": {"read_bandwidth_bytes_per_s": 1e10, "machine": {"cpu": "test"},
                          "workloads": [rate_dynamics.run_workload(n=500, c=0.1, repeats=1, bandwidth=1e10)]},
        "hopfield_retrieval": hopfield_retrieval.run(n=300, p=15, repeats=1),
    }
    for name, result in results.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(result))
    table = summary.summarise(tmp_path)
    rows = {(row["workload"].split(",")[0], row["project"], row["baseline"]): row for row in table["rows"]}
    hebbian = rows[("Hebbian weights", "package kernel", results["hebbian_weights"]["best_baseline"])]
    assert hebbian["ratio"] == results["hebbian_weights"]["speedup_vs_best"]
    step = results["rate_dynamics"]["workloads"][0]
    single = rows[("rate-network Euler step", "package kernel", step["best_baseline"])]
    assert single["ratio"] == step["speedup_vs_best"] and single["fraction_of_bound"] == step["fraction_of_bound"]
    assert len([key for key in rows if key[0] == "asynchronous Hopfield retrieval"]) == 3
    checked = rows[("asynchronous Hopfield retrieval", "package kernel, symmetric=None", "package kernel")]
    assert checked["target"] == "the check costs at most 5 %"
    # The capacity benchmark was not run: it is listed as missing, with no numbers.
    missing = [row for row in table["rows"] if row.get("missing") and row["project_seconds"] is None]
    assert [row["workload"] for row in missing] == ["capacity_curve", "brunel_network", "spiking_memory",
                                                    "plastic_network"]
    assert missing[0]["ratio"] is None
    assert table["read_bandwidth_bytes_per_s"] == 1e10 and len(table["roofline"]) == 5
    diagnostic = table["folded_gathers"][0]
    assert diagnostic["ratio"] == step["folded_gathers"]["ratio"] and diagnostic["rows_gathered"] == 100
    assert diagnostic["unfolded_ratio"] == (diagnostic["scipy_unfolded_seconds_per_step"]
                                            / diagnostic["package_unfolded_seconds_per_step"])
    assert {point["flops_per_byte"] for point in table["roofline"]} == {2 / 6, 16 / 6, 2 / 8, 2 / 12, 16 / 8}
    batched = [row for row in table["rows"] if "trials together" in (row["project"] or "")]
    assert batched[0]["baseline"].startswith("scipy CSR float32 + numpy, 8 trials together")
    # A batch is judged on its speed against the same batch, not on the one-trial memory bound.
    assert batched[0]["target"].startswith("2x faster than scipy with the same batch")
    assert batched[0]["met"] == (batched[0]["ratio"] >= 2)
    assert single["target"] == "2x faster, 0.67 of the bound"
    assert single["met"] == (single["ratio"] >= 2 and single["fraction_of_bound"] >= 0.67)
    text = summary.show(table)
    assert "missing: no capacity_curve.json" in text and "ratio" in text and "folded into 100 rows" in text
    summary.main(["--runs", str(tmp_path), "--out", str(tmp_path / "out" / "latest.json")])
    assert json.loads((tmp_path / "out" / "latest.json").read_text())["rows"] == json.loads(json.dumps(table["rows"]))


def test_a_busy_machine_is_measured_as_busy_and_its_load_is_stopped_after():
    import os
    import time

    import psutil

    from benchmarks._measure import LoadMeter, background_load

    before = set(psutil.Process().children())  # other tests' processes may still be about
    with background_load(os.cpu_count()), LoadMeter() as meter:
        spinners = set(psutil.Process().children()) - before
        time.sleep(1.0)
    # One spinning process per core: other programs took most of the CPU (the sleep took none).
    assert meter.share is not None and meter.share > 0.5, meter.share
    assert len(spinners) == os.cpu_count()
    assert not any(spinner.is_running() and spinner.status() != psutil.STATUS_ZOMBIE for spinner in spinners)


def test_idle_and_busy_run_the_benchmark_twice_and_record_the_load():
    import os

    import pytest

    from benchmarks._measure import idle_and_busy

    calls = []
    results = idle_and_busy(lambda: calls.append(1) or {"value": len(calls)})
    assert list(results) == ["idle", "busy"] and [r["value"] for r in results.values()] == [1, 2]
    assert results["idle"]["load"]["background_processes"] == 0
    assert results["busy"]["load"]["background_processes"] == os.cpu_count()
    assert results["busy"]["load"]["idle"] is False
    with pytest.raises(ValueError, match="condition must be 'idle' or 'busy', got 'quiet'"):
        idle_and_busy(dict, ("quiet",))


def test_summary_shows_each_condition_and_flags_a_degraded_bandwidth_probe(tmp_path):
    import json

    from benchmarks import summary

    step = rate_dynamics.run_workload(n=500, c=0.1, repeats=1, bandwidth=1e10)
    probe = {"bytes_per_s": 1e10, "others_cpu_share": 0.4, "degraded": True}
    part = {"read_bandwidth_bytes_per_s": 1e10, "bandwidth_probe": probe, "workloads": [step]}
    loads = {"idle": {"background_processes": 0, "others_cpu_share": 0.02, "idle": True},
             "busy": {"background_processes": 2, "others_cpu_share": 0.9, "idle": False}}
    result = {"conditions": {name: {**part, "load": load} for name, load in loads.items()}, "machine": {"cpu": "t"}}
    (tmp_path / "rate_dynamics.json").write_text(json.dumps(result))
    table = summary.summarise(tmp_path)
    steps = [row for row in table["rows"] if row["workload"].startswith("rate-network")]
    assert [row["condition"] for row in steps] == ["idle", "idle", "busy", "busy"]
    assert steps[2]["load"]["others_cpu_share"] == 0.9
    # Busy, the issue asks 1.5x scipy, with no bound: the bound is read on an idle machine.
    assert [row["target"] for row in steps] == [
        "2x faster, 0.67 of the bound", "2x faster than scipy with the same batch",
        "1.5x faster, busy", "1.5x faster than scipy with the same batch"]
    assert all(row["met"] == (row["ratio"] >= 1.5) for row in steps[2:])
    assert table["bandwidth_probe"]["degraded"] and len(table["roofline"]) == 5  # the roofline: idle only
    text = summary.show(table)
    assert "reads low: the fractions of the bound are not meaningful" in text
    assert any(line.startswith("busy      rate-network Euler step") for line in text.splitlines())


def test_brunel_benchmark_runs_three_simulators_on_one_network_and_judges_its_targets(tmp_path):
    import json

    from benchmarks import brunel_network, summary
    from helpers import balance

    # run() raises if NEST's rate differs from ours by more than 5 %; no Brian2 here: reported missing
    small = balance.BrunelModel(n_exc=2000, n_inh=500, eps=0.5)
    result = brunel_network.run(threads=1, brian2_python="", model=small)
    ours, nest, brian = result["rows"]
    assert ours["ns_per_event"] > 0 and nest["seconds"] > 0 and nest["seconds_with_setup"] >= nest["seconds"]
    assert brian["seconds"] is None and "no Brian2 environment" in brian["missing"]
    assert result["workload"]["delivered_events"] > 0 and result["workload"]["random_update_ns"] > 0
    assert "Brunel's network, panel C: 2000 + 500 neurons" in brunel_network.show(result)
    (tmp_path / "brunel_network.json").write_text(json.dumps({"conditions": {"idle": result, "busy": result}}))
    rows = [row for row in summary.summarise(tmp_path)["rows"] if row["workload"].startswith("Brunel network")]
    idle_nest = next(row for row in rows if row["condition"] == "idle" and row["baseline"].startswith("NEST"))
    busy_nest = next(row for row in rows if row["condition"] == "busy" and row["baseline"].startswith("NEST"))
    assert idle_nest["target"] == "10x faster than NEST, idle" and idle_nest["met"] == (idle_nest["ratio"] >= 10)
    assert busy_nest["target"] is None and busy_nest["ratio"] == nest["seconds"] / ours["seconds"]
    assert idle_nest["baseline_seconds_with_setup"] == nest["seconds_with_setup"]  # NEST's set-up, kept apart
    assert sum(1 for row in rows if row.get("missing")) == 2  # Brian2, idle and busy


def test_memory_benchmark_runs_the_cue_protocol_in_ours_and_nests_and_judges_its_targets(tmp_path):
    import json

    from benchmarks import spiking_memory, summary
    from helpers import attractor

    # run() raises if NEST's rate differs from ours by more than 5 %; no Brian2 here: reported missing
    small = attractor.SpikingMemory(n_exc=1600, n_inh=400, c=0.5, n_patterns=20)
    result = spiking_memory.run(threads=1, brian2_python="", model=small)
    ours, nest, *brian = result["rows"]
    assert ours["ns_per_event"] > 0 and 0 < nest["seconds"] <= nest["seconds_with_setup"]
    assert [row["seconds"] for row in brian] == [None, None]
    assert result["workload"]["duration_ms"] == 1000.0 and result["workload"]["delivered_events"] > 0
    assert "spiking memory: 1600 + 400 neurons" in spiking_memory.show(result)
    (tmp_path / "spiking_memory.json").write_text(json.dumps({"conditions": {"idle": result, "busy": result}}))
    rows = [row for row in summary.summarise(tmp_path)["rows"] if row["workload"].startswith("spiking memory")]
    idle_nest = next(row for row in rows if row["condition"] == "idle" and row["baseline"].startswith("NEST"))
    busy_nest = next(row for row in rows if row["condition"] == "busy" and row["baseline"].startswith("NEST"))
    assert idle_nest["target"] == "10x faster than NEST, idle" and idle_nest["met"] == (idle_nest["ratio"] >= 10)
    assert busy_nest["target"] is None
    assert sum(1 for row in rows if row.get("missing")) == 4  # Brian2's two modes, idle and busy



def test_plastic_benchmark_learns_alike_in_ours_and_nests_and_judges_its_targets(tmp_path):
    import json

    from benchmarks import plastic_network, summary

    # run() raises if NEST's rate or mean learned weight differs from ours (5 %, 8 %); no Brian2 here
    result = plastic_network.run(threads=1, brian2_python="", size=(1600, 400, 0.05))
    ours, nest, *brian = result["rows"]
    assert ours["ns_per_neuron_step"] > 0 and ours["mean_weight"] > 0.01  # learned from 1e-11
    assert 0 < nest["seconds"] <= nest["seconds_with_setup"]
    assert [row["seconds"] for row in brian] == [None, None]
    assert result["workload"]["plastic_events"] > 0
    assert "plastic network (Vogels et al. 2011): 1600 + 400 conductance neurons" in plastic_network.show(result)
    (tmp_path / "plastic_network.json").write_text(json.dumps({"conditions": {"idle": result, "busy": result}}))
    rows = [row for row in summary.summarise(tmp_path)["rows"] if row["workload"].startswith("plastic network")]
    idle_nest = next(row for row in rows if row["condition"] == "idle" and row["baseline"].startswith("NEST"))
    busy_nest = next(row for row in rows if row["condition"] == "busy" and row["baseline"].startswith("NEST"))
    assert idle_nest["target"] == "5x faster than NEST, idle" and idle_nest["met"] == (idle_nest["ratio"] >= 5)
    assert busy_nest["target"] is None and idle_nest["ns_per_neuron_step"] == ours["ns_per_neuron_step"]
    assert idle_nest["ns_per_plastic_event"] == result["workload"]["ns_per_plastic_event_upper"]
    assert sum(1 for row in rows if row.get("missing")) == 4  # Brian2's two modes, idle and busy
