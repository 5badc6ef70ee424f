"""Hebbian weight construction: the package's kernel against numpy/scipy constructions.

Workload (issue 4): N = 10 000, c = 0.05, p = 200 patterns, the published rule. Every
construction starts from the same input patterns and the same connectivity and ends with the
float32 weights of every synapse in CSR order; the results are checked equal before timing.

Baselines, as a competent numpy/scipy user would write them:

* ``dense product, then mask``: ``(F @ G.T)`` through BLAS, then the synapses picked out. The
  obvious construction; it holds an N x N matrix.
* ``row blocks through BLAS``: the same product one block of post-synaptic rows at a time, so only
  a block x N slab is alive, at three block sizes.

The fastest of these is the baseline for both time and peak memory, whichever it is.

Run: ``python -m benchmarks.hebbian_weights [--n 10000 --c 0.05 --p 200] [--json out.json]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks._measure import add_conditions_argument, machine, median_time, peak_memory, report_conditions
from helpers import network
from helpers.rules import PUBLISHED_RULE, balanced_q_g, post_factor, pre_factor
from helpers.transfer import PUBLISHED_MEDIANS, phi


def numpy_factors(patterns, transfer, rule):
    """f and g of every neuron and pattern, (N, p) float32, as a numpy user computes them."""
    rates = phi(patterns, transfer)
    q_g = balanced_q_g(rule, transfer)
    post = np.ascontiguousarray(post_factor(rates, rule).T, dtype=np.float32)
    pre = np.ascontiguousarray(pre_factor(rates, rule, q_g).T, dtype=np.float32)
    return post, pre


def dense_then_mask(connectivity, patterns, transfer, rule):
    post, pre = numpy_factors(patterns, transfer, rule)
    rows = np.repeat(np.arange(connectivity.n_neurons), connectivity.in_degrees)
    dense = post @ pre.T
    return np.float32(network.weight_scale(rule, connectivity)) * dense[rows, connectivity.indices]


def row_blocks(connectivity, patterns, transfer, rule, block):
    post, pre = numpy_factors(patterns, transfer, rule)
    scale = np.float32(network.weight_scale(rule, connectivity))
    values = np.empty(connectivity.n_synapses, dtype=np.float32)
    indptr, indices = connectivity.indptr, connectivity.indices
    for first in range(0, connectivity.n_neurons, block):
        last = min(first + block, connectivity.n_neurons)
        slab = post[first:last] @ pre.T
        local_rows = np.repeat(np.arange(last - first), np.diff(indptr[first : last + 1]))
        span = slice(indptr[first], indptr[last])
        values[span] = scale * slab[local_rows, indices[span]]
    return values


def package(connectivity, patterns, transfer, rule):
    return network.hebbian_weights(connectivity, patterns, transfer, rule).values


def run(n: int, c: float, p: int, repeats: int, seed: int = 0) -> dict:
    transfer, rule = PUBLISHED_MEDIANS, PUBLISHED_RULE
    connect_seed, pattern_seed = np.random.SeedSequence(seed).spawn(2)
    connectivity = network.random_connectivity(n, c, np.random.default_rng(connect_seed))
    patterns = network.draw_patterns(n, p, np.random.default_rng(pattern_seed))
    reference = package(connectivity, patterns, transfer, rule)
    tolerance = 1e-5 * float(np.abs(reference).max())

    candidates = {"package kernel": lambda: package(connectivity, patterns, transfer, rule)}
    candidates["dense product, then mask"] = lambda: dense_then_mask(connectivity, patterns, transfer, rule)
    for block in (256, 1024, 4096):
        candidates[f"row blocks through BLAS ({block} rows)"] = (
            lambda block=block: row_blocks(connectivity, patterns, transfer, rule, block)
        )
    rows = []
    for name, build in candidates.items():
        difference = float(np.abs(build() - reference).max())
        if difference > tolerance:
            raise AssertionError(f"{name} differs from the kernel by {difference:.3g} (> {tolerance:.3g})")
        rows.append({"construction": name, "seconds": median_time(build, repeats), "peak_bytes": peak_memory(build)})
    ours = rows[0]
    baselines = rows[1:]
    # Time and memory are both judged against the fastest baseline a user could write, whichever it
    # is (the dense product, then mask, was the fastest in one run).
    best = min(baselines, key=lambda r: r["seconds"])
    for row in rows:
        row["time_vs_kernel"] = row["seconds"] / ours["seconds"]
        row["memory_vs_kernel"] = row["peak_bytes"] / ours["peak_bytes"]
    return {
        "workload": {"n_neurons": n, "c": c, "n_patterns": p, "n_synapses": connectivity.n_synapses},
        "weights_bytes": int(connectivity.n_synapses * 4),
        "rows": rows,
        "best_baseline": best["construction"],
        "speedup_vs_best": best["seconds"] / ours["seconds"],
        "memory_fraction_of_best": ours["peak_bytes"] / best["peak_bytes"],
        "machine": machine(),
    }


def show(result: dict) -> str:
    work = result["workload"]
    lines = [
        f"Hebbian weights: N = {work['n_neurons']}, c = {work['c']}, p = {work['n_patterns']}, "
        f"{work['n_synapses']:,} synapses ({result['weights_bytes'] / 2**20:.0f} MiB of float32 weights)",
        f"{'construction':<36} {'time (s)':>9} {'x kernel':>9} {'peak (MiB)':>11} {'x kernel':>9}",
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['construction']:<36} {row['seconds']:>9.3f} {row['time_vs_kernel']:>9.1f} "
            f"{row['peak_bytes'] / 2**20:>11.0f} {row['memory_vs_kernel']:>9.1f}"
        )
    lines.append(
        f"against the fastest baseline ({result['best_baseline']}): {result['speedup_vs_best']:.1f}x faster, "
        f"{result['memory_fraction_of_best']:.2f} of its peak memory"
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--c", type=float, default=0.05)
    parser.add_argument("--p", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the result to this JSON file")
    add_conditions_argument(parser)
    args = parser.parse_args(argv)
    report_conditions(lambda: run(args.n, args.c, args.p, args.repeats), show, args)


if __name__ == "__main__":
    main()
