"""Asynchronous Hopfield retrieval: the package's kernel against neurodynex3 and a numpy loop.

Workload (issue 6): N = 10 000 neurons storing P = 1 000 random ±1 patterns (Hebb rule), a cue
with 10 % of one pattern's neurons flipped, asynchronous sweeps until a sweep changes nothing.
Every candidate starts from the same weights and cue and visits the neurons in the same orders
(the permutations neurodynex3 draws from NumPy's global generator), so their final states must be
identical; that is checked before timing. Each candidate runs the same number of sweeps.

The kernel runs twice: told that the weights are symmetric, and with ``symmetric=None``, which
checks them on the first run and reuses the verdict while the matrix is unchanged (its row
``x kernel`` is the cost of that reuse; the one-off check is reported in the workload line).

Baselines:

* ``numpy loop, incremental fields``: the fields ``h = W S`` computed once by BLAS, then a Python
  loop over neurons that updates ``h`` with one row of ``W`` per flip, as a careful numpy user
  writes it.
* ``neurodynex3``: the textbook exercises' ``HopfieldNetwork`` with ``set_dynamics_sign_async``,
  which recomputes each visited neuron's field from a column of ``W``. It is an optional,
  benchmark-only dependency (``requirements-bench.txt``); when it is not installed the table says
  so.

Run: ``python -m benchmarks.hopfield_retrieval [--n 10000 --p 1000] [--json out.json]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks._measure import add_conditions_argument, machine, median_time, report_conditions
from helpers import hopfield


def numpy_incremental(weights, cue, orders):
    """Asynchronous sign dynamics with fields kept up to date, in numpy and a Python loop."""
    state = cue.copy()
    field = weights @ state
    for order in orders:
        for i in order:
            new = 1.0 if field[i] > 0 else (-1.0 if field[i] < 0 else state[i])
            if new != state[i]:
                field += (new - state[i]) * weights[i]
                state[i] = new
    return state


def neurodynex3_run(weights, cue, seed, sweeps):
    """neurodynex3's asynchronous network on the same weights; ``None`` if it is not installed."""
    try:
        from neurodynex3.hopfield_network.network import HopfieldNetwork
    except ImportError:
        return None
    net = HopfieldNetwork(weights.shape[0])
    net.weights = weights
    net.set_dynamics_sign_async()
    net.state = cue.copy()
    # neurodynex3 draws its visiting orders from NumPy's global generator: seeding it is the only way
    # to give it the same orders as the other candidates.
    np.random.seed(seed)  # noqa: NPY002
    net.run(nr_steps=sweeps)
    return net.state


def run(n: int, p: int, flip: float = 0.1, repeats: int = 3, seed: int = 0) -> dict:
    pattern_seed, cue_seed = np.random.SeedSequence(seed).spawn(2)
    patterns = hopfield.random_patterns(p, n, np.random.default_rng(pattern_seed))
    weights = hopfield.hebb_rule(patterns)
    cue = hopfield.flip_bits(patterns[0], flip, np.random.default_rng(cue_seed))
    order_seed = seed + 1
    legacy = np.random.RandomState(order_seed)
    orders = np.array([legacy.permutation(n) for _ in range(50)])

    def package(sweeps, symmetric=True):
        return hopfield.run_asynchronous(
            weights, cue, max_sweeps=sweeps, symmetric=symmetric, sweep_orders=orders[:sweeps]
        )

    first = package(len(orders))
    if not first.converged:
        raise AssertionError(f"the package's run did not reach a fixed point in {len(orders)} sweeps")
    sweeps = first.sweeps
    reference = first.state
    overlap = float(hopfield.overlaps(patterns[:1], reference)[0])

    candidates = {
        "package kernel": lambda: package(sweeps).state,
        "package kernel, symmetric=None": lambda: package(sweeps, symmetric=None).state,
        "numpy loop, incremental fields": lambda: numpy_incremental(weights, cue, orders[:sweeps]),
        "neurodynex3": lambda: neurodynex3_run(weights, cue, order_seed, sweeps),
    }
    rows = []
    for name, candidate in candidates.items():
        final = candidate()
        if final is None:
            missing = "not installed (pip install --no-deps -r requirements-bench.txt)"
            rows.append({"candidate": name, "seconds": None, "missing": missing})
            continue
        differing = int(np.count_nonzero(np.asarray(final) != reference))
        if differing:
            raise AssertionError(f"{name} ends {differing} neurons away from the package's final state")
        rows.append({"candidate": name, "seconds": median_time(candidate, repeats)})
    check = median_time(lambda: hopfield._is_symmetric(weights), repeats)
    ours = rows[0]["seconds"]
    for row in rows:
        row["time_vs_kernel"] = row["seconds"] / ours if row["seconds"] is not None else None
    return {
        "workload": {"n_neurons": n, "n_patterns": p, "flipped": flip, "sweeps": sweeps,
                     "flips": int(first.flips.sum()), "final_overlap": overlap,
                     "symmetry_check_seconds": check},
        "rows": rows,
        "machine": machine(),
    }


def show(result: dict) -> str:
    work = result["workload"]
    lines = [
        f"Asynchronous Hopfield retrieval: N = {work['n_neurons']}, P = {work['n_patterns']}, "
        f"{work['flipped']:.0%} of the cue flipped; {work['sweeps']} sweeps, {work['flips']} flips, "
        f"final overlap {work['final_overlap']:.3f}",
        f"one-off symmetry check (first run with symmetric=None): {work['symmetry_check_seconds']:.4f} s",
        f"{'candidate':<34} {'time (s)':>10} {'x kernel':>9}",
    ]
    for row in result["rows"]:
        if row["seconds"] is None:
            lines.append(f"{row['candidate']:<34} {'missing: ' + row['missing']}")
        else:
            lines.append(f"{row['candidate']:<34} {row['seconds']:>10.4f} {row['time_vs_kernel']:>9.1f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--p", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the result to this JSON file")
    add_conditions_argument(parser)
    args = parser.parse_args(argv)
    report_conditions(lambda: run(args.n, args.p, repeats=args.repeats), show, args)


if __name__ == "__main__":
    main()
