"""Brunel's network at full size, one second of biological time: this project, NEST and Brian2.

The workload of chapter 8: N_E 10 000, N_I 2 500, eps 0.1 (15.6 million synapses), delta synapses,
the state of panel C (g 5, eta 2, reset 10 mV), each neuron driven by 1 000 Poisson inputs at
20 Hz. The same network (connections, weights, delays, initial potentials) runs in

- this project's simulator (``helpers.lif``), on numba's threads;
- NEST 3.10 (``lif.run_in_nest``), given the same number of threads; its own simulation time
  (``time_simulate``) is the baseline, and the whole call (network handed over and connected)
  is reported beside it;
- Brian2, in an environment of its own (its newest release needs numpy below 2.4): C++
  standalone mode with OpenMP on the same number of threads, its code generation and compilation
  timed apart from its run. The environment is found through ``--brian2-python`` or the
  ``BRIAN2_PYTHON`` variable; without one the row is reported missing. Set one up with
  ``python3 -m venv runs/brian2-env && runs/brian2-env/bin/pip install brian2 "numpy<2.4"``.

Each simulator's rates must agree with ours within 5 % before a time is taken. The cost per
delivered synaptic event (a spike times its out-degree) is set against a random read-modify-write
of a float in a cache-sized array, timed here too.

Run: ``python -m benchmarks.brunel_network [--json FILE] [--conditions idle,busy]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from benchmarks._measure import add_conditions_argument, machine, report_conditions
from helpers import balance, lif

#: Biological time simulated per run (ms).
DURATION = 1000.0
#: The agreement of rates required before timing.
RATE_TOLERANCE = 0.05
BRIAN2_SCRIPT = Path(__file__).with_name("brian2_network.py")


@numba.njit(cache=True)
def _random_updates(values, indices, weight):  # pragma: no cover - numba
    for k in range(indices.size):
        values[indices[k]] += weight


def random_update_seconds(n_values: int = 1 << 15, n_updates: int = 1 << 24) -> float:
    """Seconds per random read-modify-write of a float32 in an array of 128 KiB (it fits the L2 cache)."""
    rng = np.random.default_rng(0)
    values = np.zeros(n_values, dtype=np.float32)
    indices = rng.integers(0, n_values, n_updates).astype(np.int32)
    _random_updates(values, indices[:1000], np.float32(0.1))
    started = time.perf_counter()
    _random_updates(values, indices, np.float32(0.1))
    return (time.perf_counter() - started) / n_updates


def delivered_events(network: lif.Network, record) -> int:
    """Spikes times their out-degrees: the synaptic events the run delivered."""
    out_degree = np.diff(network.indptr)
    return int(out_degree[record.neurons].sum())


def one_stretch(duration: float = DURATION) -> list[tuple[float, None]]:
    """A protocol of one stretch without extra input: a plain run of ``duration`` ms."""
    return [(duration, None)]


def run_ours(network, seed, protocol=None, repeats=3):
    """Median seconds of the protocol's run (after a short one that compiles), and the last run's record."""
    protocol = protocol or one_stretch()
    lif.Simulation(network, rng=seed).run(20.0)
    times, record = [], None
    for _ in range(repeats):
        simulation = lif.Simulation(network, rng=seed)
        started = time.perf_counter()
        for length, extra in protocol:
            simulation.run(length, extra_input=extra)
        times.append(time.perf_counter() - started)
        record = simulation.spikes
    return float(np.median(times)), record


def run_nest(network, v_init, seed, threads, protocol=None):
    """NEST's seconds inside its simulation calls, the whole call's seconds, and its record."""
    timings = {}
    started = time.perf_counter()
    record = lif.run_in_nest(network, protocol or one_stretch(), v_init, seed=seed, threads=threads, timings=timings)
    return timings["simulate_seconds"], time.perf_counter() - started, record


def run_brian2(network, v_init, threads, python, protocol=None, mode="standalone"):
    """Brian2 in its own environment, on the same connections; None if no environment was given."""
    if not python:
        return None
    protocol = protocol or one_stretch()
    drive = network.populations[0].drive[0]  # the same for every neuron in these benchmarks
    neuron = network.populations[0].neuron
    extra = np.stack([np.zeros(network.n_neurons) if x is None else np.broadcast_to(x, network.n_neurons)
                      for _, x in protocol])
    with tempfile.TemporaryDirectory() as scratch:
        arrays = Path(scratch) / "network.npz"
        np.savez(arrays, sources=network.sources, targets=network.targets, weights=network.weights,
                 delays=network.delays, v_init=v_init, n_neurons=network.n_neurons, dt=network.dt,
                 tau_m=neuron.tau_m, theta=neuron.theta, v_reset=neuron.v_reset, t_ref=neuron.t_ref,
                 drive_rate=drive.rate, drive_weight=drive.weight, drive_sources=drive.n_sources,
                 stretches=np.array([length for length, _ in protocol]), extra=extra, threads=threads)
        output = subprocess.run([python, str(BRIAN2_SCRIPT), str(arrays), scratch, mode], capture_output=True,
                                text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def run(threads: int | None = None, brian2_python: str | None = None, seed: int = 1,
        model: balance.BrunelModel | None = None) -> dict:
    """The three simulators on Brunel's network (``model``: full size, panel C, unless given)."""
    threads = threads or numba.get_num_threads()
    model = model or balance.BrunelModel()
    started = time.perf_counter()
    network = model.network(rng=seed)
    build_seconds = time.perf_counter() - started
    v_init = lif.Simulation(network, rng=seed).v.copy()

    ours_seconds, ours = run_ours(network, seed)
    events = delivered_events(network, ours)
    rate = ours.rates().mean()
    rows = [{"candidate": f"package (numba, {threads} threads)", "seconds": ours_seconds, "rate": rate,
             "ns_per_event": 1e9 * ours_seconds / events}]

    nest_seconds, nest_total, theirs = run_nest(network, v_init, seed + 1, threads)
    nest_rate = theirs.rates().mean()
    if abs(nest_rate / rate - 1) > RATE_TOLERANCE:
        raise AssertionError(f"NEST fires at {nest_rate:.2f} Hz, this project at {rate:.2f} Hz")
    rows.append({"candidate": f"NEST 3.10 simulate ({threads} threads)", "seconds": nest_seconds, "rate": nest_rate,
                 "seconds_with_setup": nest_total})

    brian = run_brian2(network, v_init, threads, brian2_python or os.environ.get("BRIAN2_PYTHON"))
    if brian is None:
        rows.append({"candidate": "Brian2 C++ standalone run", "seconds": None,
                     "missing": "no Brian2 environment (give --brian2-python or BRIAN2_PYTHON)"})
    else:
        if abs(brian["rate"] / rate - 1) > RATE_TOLERANCE:
            raise AssertionError(f"Brian2 fires at {brian['rate']:.2f} Hz, this project at {rate:.2f} Hz")
        rows.append({"candidate": f"Brian2 {brian['version']} C++ standalone run ({threads} threads)",
                     "seconds": brian["run_seconds"], "rate": brian["rate"],
                     "compile_seconds": brian["compile_seconds"]})
    return {
        "benchmark": "brunel_network",
        "machine": machine(),
        "workload": {"n_exc": model.n_exc, "n_inh": model.n_inh, "eps": model.eps, "g": model.g, "eta": model.eta,
                     "n_synapses": int(network.targets.size), "duration_ms": DURATION, "threads": threads,
                     "build_seconds": build_seconds, "delivered_events": events,
                     "random_update_ns": 1e9 * random_update_seconds()},
        "rows": rows,
    }


def candidate_lines(rows: list[dict], width: int = 48) -> list[str]:
    """The table of a spiking benchmark's simulators: rate, seconds, time over ours, notes."""
    lines = [f"{'candidate':<{width}}{'rate Hz':>9}{'seconds':>9}{'ratio':>8}  notes"]
    ours = rows[0]["seconds"]
    for row in rows:
        if row["seconds"] is None:
            lines.append(f"{row['candidate']:<{width}}{'':>9}{'missing':>9}{'':>8}  {row['missing']}")
            continue
        notes = []
        if "ns_per_event" in row:
            notes.append(f"{row['ns_per_event']:.2f} ns per event")
        if "seconds_with_setup" in row:
            notes.append(f"{row['seconds_with_setup']:.2f} s with the network handed over")
        if "compile_seconds" in row:
            notes.append(f"{row['compile_seconds']:.2f} s to generate and compile")
        lines.append(f"{row['candidate']:<{width}}{row['rate']:>9.2f}{row['seconds']:>9.2f}"
                     f"{row['seconds'] / ours:>8.2f}  " + "; ".join(notes))
    return lines


def show(result: dict) -> str:
    w = result["workload"]
    return "\n".join([
        f"Brunel's network, panel C: {w['n_exc']} + {w['n_inh']} neurons, {w['n_synapses']} synapses, "
        f"{w['duration_ms']:.0f} ms; {w['delivered_events']} events delivered; built in {w['build_seconds']:.2f} s",
        f"a random read-modify-write in cache: {w['random_update_ns']:.2f} ns",
        *candidate_lines(result["rows"]),
    ])


def command_line(run_benchmark, show_result, description: str, argv=None):
    """The command line of a spiking benchmark: threads, Brian2's environment, JSON file, conditions."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=None, help="threads for every simulator (numba's count)")
    parser.add_argument("--brian2-python", default=None, help="the python of an environment with Brian2")
    parser.add_argument("--json", help="also write the result to this JSON file")
    add_conditions_argument(parser)
    args = parser.parse_args(argv)
    report_conditions(lambda: run_benchmark(args.threads, args.brian2_python), show_result, args)


def main(argv=None):
    command_line(run, show, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
