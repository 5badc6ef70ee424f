"""The numerical capacity curve of a perceptron: the package's linear programs against dense linprog.

Workload (issue 7): N = 500 inputs, five loads around the capacity (alpha = 1.8 ... 2.2), 20
samples of random dichotomies (Gaussian inputs, labels +1 or -1 with probability 1/2), each
answered "separable or not" by a linear program solved with HiGHS. Each sample holds the patterns
of the largest load and the smaller loads use its first P patterns, so both sides answer exactly
the same 100 questions; their verdicts are checked identical before the times are compared.

* ``dense linprog (HiGHS)``: what a user writes with SciPy, one ``scipy.optimize.linprog(...,
  method="highs")`` per sample and load, on the dense constraint matrix. The program is the
  margin LP (``max t`` with ``y (w . x - theta) >= t``, ``|w_j| <= 1``, ``t <= 1``); the plain
  feasibility LP ``y (w . x - theta) >= 1`` is the first thing one tries, but near the capacity
  HiGHS reports numerical difficulties on it (status 4), so it cannot give the verdicts.
* ``package``: ``helpers.perceptron.realisable_prefixes``: the loads visited by bisection (the
  verdicts switch once along nested prefixes), each "separable" certified by the weights of the
  max-margin quadratic program (Goldfarb-Idnani, ``quadprog``; an exact method, about five times
  faster than the LP here), each "not separable" decided by the same margin LP passed to highspy
  directly, on one warm-started instance per sample.

Run: ``python -m benchmarks.capacity_curve [--n 500 --samples 20] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import optimize

from benchmarks._measure import add_conditions_argument, machine, report_conditions
from helpers import gardner, perceptron

LOADS = (1.8, 1.9, 2.0, 2.1, 2.2)


def linprog_separable(inputs, labels) -> bool:
    """The margin LP as a SciPy user writes it: dense matrices, one call per question."""
    n_patterns, n_inputs = inputs.shape
    signed = labels[:, None] * inputs
    # Variables (w, theta, t): rows -y x.w + y theta + t <= 0; maximise t.
    a_ub = np.hstack([-signed, labels[:, None], np.ones((n_patterns, 1))])
    cost = np.zeros(n_inputs + 2)
    cost[-1] = -1.0
    bounds = [(-1.0, 1.0)] * n_inputs + [(None, None), (None, 1.0)]
    result = optimize.linprog(cost, A_ub=a_ub, b_ub=np.zeros(n_patterns), bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"linprog failed: {result.message}")
    weights, threshold = result.x[:n_inputs], result.x[n_inputs]
    return bool(result.x[-1] > 0 and np.all(labels * (inputs @ weights - threshold) > 0))


def bisection_steps(verdicts) -> int:
    """How many programs the package's bisection solves for one sample's verdicts."""
    good, bad, steps = -1, len(verdicts), 0
    while bad - good > 1:
        middle = (good + bad) // 2
        steps += 1
        good, bad = (middle, bad) if verdicts[middle] else (good, middle)
    return steps


def run(n: int = 500, n_samples: int = 20, loads=LOADS, seed: int = 1988) -> dict:
    rng = np.random.default_rng(seed)
    sizes = np.array([int(round(load * n)) for load in loads])
    samples = [perceptron.random_dichotomies(n, int(sizes[-1]), rng) for _ in range(n_samples)]

    started = time.perf_counter()
    package = np.array([perceptron.realisable_prefixes(x, y, sizes) for x, y in samples])
    package_seconds = time.perf_counter() - started

    started = time.perf_counter()
    baseline = np.array([[linprog_separable(x[:p], y[:p]) for p in sizes] for x, y in samples])
    baseline_seconds = time.perf_counter() - started

    if not np.array_equal(package, baseline):
        raise AssertionError(f"verdicts differ on {np.sum(package != baseline)} of {package.size} questions")
    fractions = package.mean(axis=0)
    return {
        "benchmark": "capacity_curve",
        "machine": machine(),
        "workload": {"n_inputs": n, "loads": list(loads), "n_samples": n_samples, "seed": seed,
                     "fraction_separable": fractions.tolist(),
                     "cover_probability": [gardner.cover_separable_probability(int(p), n + 1) for p in sizes]},
        "rows": [
            {"candidate": "package (bisection; QP certificate, HiGHS LP for no)", "seconds": package_seconds,
             "linear_programs": int(sum(bisection_steps(v) for v in package))},
            {"candidate": "dense linprog (HiGHS), one call per load", "seconds": baseline_seconds,
             "linear_programs": int(package.size)},
        ],
        "speedup": baseline_seconds / package_seconds,
    }


def show(result: dict) -> str:
    w = result["workload"]
    lines = [
        f"Capacity curve: N = {w['n_inputs']}, loads {w['loads']}, {w['n_samples']} samples each "
        "(each timed once: every question is a different program)",
        "fraction separable: " + ", ".join(f"{f:.2f}" for f in w["fraction_separable"])
        + "   (Cover: " + ", ".join(f"{f:.2f}" for f in w["cover_probability"]) + ")",
        f"{'candidate':<58}{'programs':>9}{'seconds':>10}{'ratio':>8}",
    ]
    fastest = result["rows"][0]["seconds"]
    for row in result["rows"]:
        lines.append(
            f"{row['candidate']:<58}{row['linear_programs']:>9}{row['seconds']:>10.2f}{row['seconds'] / fastest:>8.2f}"
        )
    lines.append(f"same verdicts on all questions; the package is {result['speedup']:.2f}x faster")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--json", help="also write the result to this JSON file")
    add_conditions_argument(parser)
    args = parser.parse_args(argv)
    report_conditions(lambda: run(args.n, args.samples), show, args)


if __name__ == "__main__":
    main()
