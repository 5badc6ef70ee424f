"""The benchmarks run and their constructions agree; their timings are never asserted."""

from benchmarks import hebbian_weights


def test_hebbian_weight_benchmark_runs_and_its_baselines_agree():
    # run() raises if any baseline's weights differ from the kernel's
    result = hebbian_weights.run(n=300, c=0.1, p=7, repeats=1)
    names = [row["construction"] for row in result["rows"]]
    assert names[0] == "package kernel" and "dense product, then mask" in names
    assert result["best_baseline"].startswith("row blocks")
    assert all(row["seconds"] > 0 and row["peak_bytes"] > 0 for row in result["rows"])
    assert "Hebbian weights: N = 300" in hebbian_weights.show(result)
