"""One Euler step of the rate network: the package's kernel against scipy.sparse plus numpy.

Workloads (issue 5): N = 10 000, c = 0.05 and N = 50 000, c = 0.005, weights of the published rule
storing p = 0.2 cN patterns. A step is ``r <- r + dt/tau (-r + phi(J r))``. Every candidate runs
``STEPS`` steps, as in a simulation, and the time per step is reported: a single call of one step
would mostly time Python's call overhead at N = 10 000, not the step.

Baselines, as a competent scipy user would write the step: ``J @ r`` with a ``csr_matrix``, then
the sigmoid and the update in numpy. Both float32 (the package's precision) and float64 setups are
timed and the faster is the baseline. Every candidate starts from the same rates; its new rates
are checked against the package's before timing.

The bound: a step must read every weight (value and index) and the row pointers at least once.
The machine's read bandwidth is measured here by a parallel sum over a 512 MiB array, and
``bytes of the weights / bandwidth`` is the fastest a step could be; the table gives the
fraction of that bound each candidate reaches. A batch of trials (several network states
integrated together, as the chapters do) is shown in two further rows, the package's kernel and
scipy's CSR times an (N, trials) block: both read the weights once for all the trials.

A diagnostic of the batch follows it: the same synapses and weights with every pre-synaptic index
folded into the first N / 5 neurons, so that the rates a step gathers take a fifth of the room
(at N = 50 000 and 8 trials, 320 KB instead of 1.6 MB: inside a core's L2 cache instead of
beyond it). The folded network is another network, not a model of anything; timing both sides on
it shows how much of the batch's time goes to fetching rates from beyond the L2 cache. Its four
times (kernel and scipy, folded and not) are taken in turn, so that the noise of a shared machine
falls on all four alike.

Run: ``python -m benchmarks.rate_dynamics [--json out.json]``.
"""

from __future__ import annotations

import argparse

import numba
import numpy as np

from benchmarks._measure import (
    IDLE_SHARE,
    LoadMeter,
    add_conditions_argument,
    interleaved_median_times,
    machine,
    median_time,
    report_conditions,
)
from helpers import network
from helpers.rules import PUBLISHED_RULE
from helpers.transfer import PUBLISHED_MEDIANS, phi

WORKLOADS = ((10_000, 0.05), (50_000, 0.005))
BATCH = 8
STEPS = 20
#: The diagnostic folds every gather into the first N / FOLD neurons.
FOLD = 5


@numba.njit(parallel=True, fastmath=True, cache=True)
def _parallel_sum(values, n_chunks):
    """Sum of a float32 array in ``n_chunks`` parallel, vectorised streams: a read-bandwidth probe."""
    size = values.size // n_chunks
    partial = np.zeros(n_chunks, dtype=np.float32)
    for chunk in numba.prange(n_chunks):
        # a slice, not an index range: with the range LLVM left the loop scalar (6-7 GB/s instead of ~30)
        segment = values[chunk * size : (chunk + 1) * size]
        total = np.float32(0.0)
        for k in range(segment.size):
            total += segment[k]
        partial[chunk] = total
    return partial.sum()


def read_bandwidth(n_bytes: int = 512 * 2**20, repeats: int = 5) -> float:
    """Bytes per second the machine reads from memory with all numba threads (STREAM-like 'sum')."""
    values = np.ones(n_bytes // 4, dtype=np.float32)
    chunks = 64 * numba.get_num_threads()
    seconds = median_time(lambda: _parallel_sum(values, chunks), repeats)
    return values.nbytes / seconds


def probe_bandwidth() -> dict:
    """``read_bandwidth`` with the share of the CPU other programs took meanwhile.

    A probe taken while other work ran reads low (5.6 GB/s once, under load), and every fraction
    of the bound computed from it would be meaningless: ``degraded`` says so.
    """
    with LoadMeter() as meter:
        bandwidth = read_bandwidth()
    degraded = None if meter.share is None else meter.share > IDLE_SHARE
    return {"bytes_per_s": bandwidth, "others_cpu_share": meter.share, "degraded": degraded}


def scipy_step(matrix, rates, leak, transfer):
    """The step as a scipy user writes it (dtype follows ``matrix`` and ``rates``)."""
    one = rates.dtype.type(1)
    field = matrix @ rates
    target = transfer.r_max / (one + np.exp(-transfer.beta * (field - transfer.h0)))
    return rates + leak * (target - rates)


def scipy_steps(matrix, rates, leak, transfer, n_steps: int = STEPS):
    """``n_steps`` steps of ``scipy_step``."""
    for _ in range(n_steps):
        rates = scipy_step(matrix, rates, leak, transfer)
    return rates


def run_workload(n: int, c: float, repeats: int, bandwidth: float, seed: int = 0) -> dict:
    transfer = PUBLISHED_MEDIANS
    connect_seed, pattern_seed = np.random.SeedSequence(seed).spawn(2)
    connectivity = network.random_connectivity(n, c, np.random.default_rng(connect_seed))
    patterns = network.draw_patterns(n, max(2, int(0.2 * c * n)), np.random.default_rng(pattern_seed))
    weights = network.hebbian_weights(connectivity, patterns, transfer, PUBLISHED_RULE)
    rates = phi(patterns[0], transfer)
    integration = network.PAPER_INTEGRATION
    leak = integration.dt / integration.tau

    duration = STEPS * integration.dt

    def package():
        return network.run_rates(weights, transfer, rates, duration)

    batch_rates = phi(patterns[np.arange(BATCH) % len(patterns)], transfer)

    def package_batch():
        return network.run_rates(weights, transfer, batch_rates, duration)

    matrix32 = weights.to_scipy()
    matrix64 = matrix32.astype(np.float64)
    rates32, rates64 = rates.astype(np.float32), rates.copy()
    baselines = {
        "scipy CSR float32 + numpy": lambda: scipy_steps(matrix32, rates32, np.float32(leak), _as32(transfer)),
        "scipy CSR float64 + numpy": lambda: scipy_steps(matrix64, rates64, leak, transfer),
    }
    reference = package()
    scale = float(np.abs(reference).max())
    for name, step in baselines.items():
        difference = float(np.abs(np.asarray(step(), dtype=np.float64) - reference).max())
        if difference > 1e-4 * scale:
            raise AssertionError(f"{name} differs from the kernel by {difference:.3g} Hz")
    batch_reference = package_batch()
    if float(np.abs(batch_reference[0] - reference).max()) > 1e-4 * scale:
        raise AssertionError("the batched kernel's first trial differs from the single-state kernel")
    # A scipy user with several trials multiplies the CSR matrix into an (N, trials) block.
    batch32 = np.ascontiguousarray(batch_rates.T, dtype=np.float32)

    def scipy_batch():
        return scipy_steps(matrix32, batch32, np.float32(leak), _as32(transfer))

    if float(np.abs(scipy_batch().T.astype(np.float64) - batch_reference).max()) > 1e-4 * scale:
        raise AssertionError("the batched scipy baseline differs from the batched kernel")

    folded = folded_gathers(weights, batch_rates, duration, leak, transfer, repeats)

    weight_bytes = weights.values.nbytes + connectivity.indices.nbytes + connectivity.indptr.nbytes
    bound = weight_bytes / bandwidth
    rows = [{"candidate": "package kernel", "seconds_per_step": median_time(package, repeats) / STEPS}]
    for name, steps in baselines.items():
        rows.append({"candidate": name, "seconds_per_step": median_time(steps, repeats) / STEPS})
    batch_seconds = median_time(package_batch, repeats) / STEPS
    rows.append({"candidate": f"package kernel, {BATCH} trials together (per trial)",
                 "seconds_per_step": batch_seconds / BATCH})
    rows.append({"candidate": f"scipy CSR float32 + numpy, {BATCH} trials together (per trial)",
                 "seconds_per_step": median_time(scipy_batch, repeats) / STEPS / BATCH})
    ours = rows[0]["seconds_per_step"]
    for row in rows:
        row["time_vs_kernel"] = row["seconds_per_step"] / ours
        row["fraction_of_bound"] = bound / row["seconds_per_step"]
    best = min(rows[1:3], key=lambda r: r["seconds_per_step"])
    return {
        "workload": {"n_neurons": n, "c": c, "n_synapses": connectivity.n_synapses, "weight_bytes": int(weight_bytes)},
        "bound_seconds": bound,
        "rows": rows,
        "best_baseline": best["candidate"],
        "speedup_vs_best": best["seconds_per_step"] / ours,
        "fraction_of_bound": bound / ours,
        "seconds_per_simulated_second": ours * round(1.0 / integration.dt),
        "folded_gathers": folded,
    }


def fold_presynaptic(weights: network.SparseWeights, n_rows: int) -> network.SparseWeights:
    """The same synapses and weights with each pre-synaptic index ``j`` replaced by ``j % n_rows``.

    Rows stay sorted, as the kernel's connectivity is; only where the rates are read from changes.
    """
    conn = weights.connectivity
    post = np.repeat(np.arange(conn.n_neurons), conn.in_degrees)
    pre = conn.indices % conn.indices.dtype.type(n_rows)
    order = np.lexsort((pre, post))
    return network.SparseWeights(network.Connectivity(conn.indptr, pre[order], conn.c), weights.values[order])


def folded_gathers(weights, batch_rates, duration, leak, transfer, repeats: int) -> dict:
    """The batch diagnostic: kernel and scipy, per trial and step, with and without folding into N / FOLD rows."""
    n_rows = max(1, weights.n_neurons // FOLD)
    folded = fold_presynaptic(weights, n_rows)
    block = np.ascontiguousarray(batch_rates.T, dtype=np.float32)

    def package(on):
        return lambda: network.run_rates(on, transfer, batch_rates, duration)

    def scipy_batch(on):
        matrix = on.to_scipy()
        return lambda: scipy_steps(matrix, block, np.float32(leak), _as32(transfer))

    reference = package(folded)()
    if float(np.abs(scipy_batch(folded)().T - reference).max()) > 1e-4 * float(np.abs(reference).max()):
        raise AssertionError("with folded gathers, scipy's batch differs from the kernel's")
    candidates = (package(weights), package(folded), scipy_batch(weights), scipy_batch(folded))
    package_unfolded, package_folded, scipy_unfolded, scipy_folded = (
        seconds / STEPS / BATCH for seconds in interleaved_median_times(candidates, repeats))
    return {
        "rows_gathered": n_rows,
        "gathered_bytes": n_rows * BATCH * 4,
        "package_seconds_per_step": package_folded,
        "scipy_seconds_per_step": scipy_folded,
        "package_unfolded_seconds_per_step": package_unfolded,
        "scipy_unfolded_seconds_per_step": scipy_unfolded,
        "speedup_from_folding": package_unfolded / package_folded,
        "scipy_speedup_from_folding": scipy_unfolded / scipy_folded,
        "unfolded_ratio": scipy_unfolded / package_unfolded,
        "ratio": scipy_folded / package_folded,
    }


def _as32(transfer):
    """The transfer parameters as float32 scalars, so that numpy keeps the float32 baseline in float32."""
    return type("Transfer32", (), {k: np.float32(getattr(transfer, k)) for k in ("r_max", "beta", "h0")})


def run(workloads=WORKLOADS, repeats: int = 20, probe: dict | None = None) -> dict:
    """Every workload; the bound from ``probe`` (``probe_bandwidth()``), taken now if not given."""
    probe = probe_bandwidth() if probe is None else probe
    bandwidth = probe["bytes_per_s"]
    return {
        "read_bandwidth_bytes_per_s": bandwidth,
        "bandwidth_probe": probe,
        "workloads": [run_workload(n, c, repeats, bandwidth) for n, c in workloads],
        "machine": machine(),
    }


def show(result: dict) -> str:
    lines = [f"read bandwidth (parallel sum over 512 MiB): {result['read_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s"]
    if result.get("bandwidth_probe", {}).get("degraded"):
        lines.append("the probe ran beside other work and reads low: the fractions of the bound are not meaningful")
    for work in result["workloads"]:
        w = work["workload"]
        lines += [
            "",
            f"Euler step: N = {w['n_neurons']}, c = {w['c']}, {w['n_synapses']:,} synapses, "
            f"{w['weight_bytes'] / 2**20:.0f} MiB of weights; bound {work['bound_seconds'] * 1e3:.2f} ms",
            f"{'candidate':<48} {'ms/step':>8} {'x kernel':>9} {'of bound':>9}",
        ]
        for row in work["rows"]:
            lines.append(
                f"{row['candidate']:<48} {row['seconds_per_step'] * 1e3:>8.2f} {row['time_vs_kernel']:>9.2f} "
                f"{row['fraction_of_bound']:>9.2f}"
            )
        lines.append(
            f"against the faster baseline ({work['best_baseline']}): {work['speedup_vs_best']:.2f}x faster; "
            f"{work['fraction_of_bound']:.2f} of the bandwidth bound; one simulated second takes "
            f"{work['seconds_per_simulated_second']:.1f} s"
        )
        folded = work["folded_gathers"]
        package_ms, scipy_ms = folded["package_seconds_per_step"] * 1e3, folded["scipy_seconds_per_step"] * 1e3
        lines.append(
            f"diagnostic, {BATCH} trials with every gather folded into {folded['rows_gathered']} rows "
            f"({folded['gathered_bytes'] / 2**10:.0f} KiB of rates): kernel {package_ms:.3f} ms and scipy "
            f"{scipy_ms:.3f} ms per trial and step; folding makes the kernel {folded['speedup_from_folding']:.2f}x "
            f"and scipy {folded['scipy_speedup_from_folding']:.2f}x faster; kernel over scipy "
            f"{folded['unfolded_ratio']:.2f}x unfolded, {folded['ratio']:.2f}x folded"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="also write the result to this JSON file")
    add_conditions_argument(parser)
    args = parser.parse_args(argv)
    # The bandwidth is probed once, before any background load: the bound of both conditions.
    probe = probe_bandwidth()
    report_conditions(lambda: run(repeats=args.repeats, probe=probe), show, args)


if __name__ == "__main__":
    main()
