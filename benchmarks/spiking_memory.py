"""A spiking attractor memory of the lecture's kind, one second with a cue: this project, NEST and Brian2.

The workload of chapter 9 that a user would otherwise run in Brian2 (issue 27): 6 400 excitatory and
1 600 inhibitory current-based LIF neurons, Bernoulli connections c = 0.1, 90 patterns of coding
level 0.1 stored by the clipped covariance rule (``helpers.attractor``, the reference's starting
point: J_S 6 mV, g 6, eta 1.5), delta synapses with a delay of 1.5 ms, dt 0.1 ms. One second:
200 ms of background, a 100 ms cue (10 mV more input to pattern 0's neurons), 700 ms after it.
The same network, initial potentials and protocol run in

- this project's simulator (``helpers.lif``), on numba's threads;
- NEST 3.10 (``lif.run_in_nest``), given the same number of threads: the seconds inside its
  simulation calls are the baseline, the whole call beside them;
- Brian2, in an environment of its own (``--brian2-python`` or ``BRIAN2_PYTHON``, as for
  ``brunel_network``): C++ standalone with OpenMP on the same threads, its compilation timed apart
  from its run, and runtime mode with Cython (one thread), its first compilation apart too.

Each simulator's rate must agree with ours within 5 % before its time counts.

Run: ``python -m benchmarks.spiking_memory [--json FILE] [--conditions idle,busy]``.
"""

from __future__ import annotations

import os
import sys
import time

import numba
import numpy as np

from benchmarks._measure import machine
from benchmarks.brunel_network import (
    RATE_TOLERANCE,
    candidate_lines,
    command_line,
    delivered_events,
    run_brian2,
    run_nest,
    run_ours,
)
from helpers import attractor, lif

#: Background, cue and what follows (ms), and the cue's extra input to pattern 0's neurons (mV).
STRETCHES = (200.0, 100.0, 700.0)
CUE = 10.0


def protocol(model: attractor.SpikingMemory, patterns, n_neurons: int) -> list:
    cue = np.zeros(n_neurons)
    cue[: model.n_exc][patterns[0] == 1] = CUE
    return [(STRETCHES[0], None), (STRETCHES[1], cue), (STRETCHES[2], None)]


def _agree(name: str, rate: float, ours: float) -> None:
    if abs(rate / ours - 1) > RATE_TOLERANCE:
        raise AssertionError(f"{name} fires at {rate:.2f} Hz, this project at {ours:.2f} Hz")


def run(threads: int | None = None, brian2_python: str | None = None, seed: int = 1,
        model: attractor.SpikingMemory | None = None) -> dict:
    """The simulators on the memory (``model``: the lecture's workload unless given)."""
    threads = threads or numba.get_num_threads()
    model = model or attractor.SpikingMemory(n_exc=6400, n_inh=1600)
    started = time.perf_counter()
    patterns = model.patterns(rng=seed)
    network = model.network(patterns, rng=seed + 1)
    build_seconds = time.perf_counter() - started
    steps = protocol(model, patterns, network.n_neurons)
    v_init = lif.Simulation(network, rng=seed).v.copy()

    ours_seconds, ours = run_ours(network, seed, steps)
    rate = ours.rates().mean()
    rows = [{"candidate": f"package (numba, {threads} threads)", "seconds": ours_seconds, "rate": rate,
             "ns_per_event": 1e9 * ours_seconds / delivered_events(network, ours)}]
    nest_seconds, nest_total, theirs = run_nest(network, v_init, seed + 1, threads, steps)
    _agree("NEST", theirs.rates().mean(), rate)
    rows.append({"candidate": f"NEST 3.10 simulate ({threads} threads)", "seconds": nest_seconds,
                 "rate": theirs.rates().mean(), "seconds_with_setup": nest_total})
    python = brian2_python or os.environ.get("BRIAN2_PYTHON")
    for mode, label in (("standalone", f"C++ standalone run ({threads} threads)"), ("runtime", "runtime (Cython)")):
        brian = run_brian2(network, v_init, threads, python, steps, mode)
        if brian is None:
            rows.append({"candidate": f"Brian2 {label}", "seconds": None,
                         "missing": "no Brian2 environment (give --brian2-python or BRIAN2_PYTHON)"})
            continue
        _agree(f"Brian2 ({mode})", brian["rate"], rate)
        rows.append({"candidate": f"Brian2 {brian['version']} {label}", "seconds": brian["run_seconds"],
                     "rate": brian["rate"], "compile_seconds": brian["compile_seconds"]})
    return {
        "benchmark": "spiking_memory",
        "machine": machine(),
        "workload": {"n_exc": model.n_exc, "n_inh": model.n_inh, "c": model.c, "n_patterns": model.n_patterns,
                     "coding_level": model.coding_level, "J_S": model.J_S, "n_synapses": network.n_synapses,
                     "duration_ms": float(sum(STRETCHES)), "cue_mV": CUE, "threads": threads,
                     "build_seconds": build_seconds, "delivered_events": delivered_events(network, ours)},
        "rows": rows,
    }


def show(result: dict) -> str:
    w = result["workload"]
    return "\n".join([
        f"spiking memory: {w['n_exc']} + {w['n_inh']} neurons, {w['n_synapses']} synapses, {w['n_patterns']} "
        f"patterns, {w['duration_ms']:.0f} ms with a {w['cue_mV']:g} mV cue; built in {w['build_seconds']:.2f} s",
        *candidate_lines(result["rows"], width=52),
    ])


def main(argv=None):
    command_line(run, show, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
