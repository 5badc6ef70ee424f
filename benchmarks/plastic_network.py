"""A plastic network of the size of Vogels et al. (2011), one second: this project, NEST and Brian2.

The workload of issue 28 (chapter 10), ``helpers.balance.VogelsModel``: 8 000 excitatory and 2 000
inhibitory conductance-based LIF neurons, every pair connected with probability 0.02, I->E
synapses starting from nearly 0 and learning by Vogels' inhibitory STDP (eta 0.01 nS, a target of
3 Hz), as the authors' Brian example has it; delays of one step (0.1 ms), dt 0.1 ms. One second
with learning on from the start, in

- this project's simulator (``helpers.lif``; a network this size runs on one thread when every
  step is a stretch, its delays being one step);
- NEST 3.10 (``lif.run_in_nest``: ``iaf_cond_exp`` and ``vogels_sprekeler_synapse``), given numba's
  thread count; the seconds inside its simulation calls are the baseline;
- Brian2 (``brian2_network.py``, in its own environment as for ``brunel_network``): C++
  standalone with OpenMP on the same threads, its compilation timed apart, and runtime mode with
  Cython.

Each simulator's rates must agree with ours within 5 %, and its mean learned weight within 8 %
(NEST applies a postsynaptic spike's potentiation at the synapse's next presynaptic spike, so its
final weights lag by a few percent), before its time counts. Costs are also given per
neuron-step and per plastic event (a plastic synapse's pre- or postsynaptic spike).

Run: ``python -m benchmarks.plastic_network [--json FILE] [--conditions idle,busy]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numba
import numpy as np

from benchmarks._measure import machine
from benchmarks.brunel_network import BRIAN2_SCRIPT, RATE_TOLERANCE, candidate_lines, command_line
from helpers import balance, lif

DURATION = 1000.0
#: How far another simulator's mean learned weight may be from ours.
WEIGHT_TOLERANCE = 0.08
MODEL = balance.VogelsModel()


def network(n_exc: int = 8000, n_inh: int = 2000, eps: float = 0.02, seed: int = 1) -> lif.Network:
    return replace(MODEL, n_exc=n_exc, n_inh=n_inh, eps=eps).network(rng=seed)


def _mean_learned(net: lif.Network, weights) -> float:
    return float(-np.mean(weights[net.plastic_synapses("I->E")]))


def plastic_events(net: lif.Network, record) -> int:
    """Pre- and postsynaptic spikes of every plastic synapse: what the rule acts on."""
    synapses = net.plastic_synapses("I->E")
    out_degree = np.bincount(net.sources[synapses], minlength=net.n_neurons)
    in_degree = np.bincount(net.targets[synapses], minlength=net.n_neurons)
    return int(out_degree[record.neurons].sum() + in_degree[record.neurons].sum())


def run_ours(net, seed, repeats=3):
    lif.Simulation(net, rng=seed).run(20.0)  # compiles
    times = []
    for _ in range(repeats):
        simulation = lif.Simulation(net, rng=seed)
        started = time.perf_counter()
        simulation.run(DURATION)
        times.append(time.perf_counter() - started)
    return float(np.median(times)), simulation.spikes, _mean_learned(net, simulation.weights)


def run_brian2(net, v_init, threads, python, mode):
    if not python:
        return None
    neuron, rule = MODEL.neuron(), MODEL.rule()
    with tempfile.TemporaryDirectory() as scratch:
        arrays = Path(scratch) / "network.npz"
        np.savez(arrays, synapse="conductance", sources=net.sources, targets=net.targets, weights=net.weights,
                 plastic=net.synapse_rule >= 0, delays=net.delays, v_init=v_init, n_neurons=net.n_neurons, dt=net.dt,
                 tau_m=neuron.tau_m, theta=neuron.theta, v_reset=neuron.v_reset, t_ref=neuron.t_ref,
                 e_exc=neuron.e_exc, e_inh=neuron.e_inh, tau_exc=neuron.tau_syn_exc, tau_inh=neuron.tau_syn_inh,
                 tau_stdp=rule.tau, eta=rule.eta, alpha=rule.alpha, w_max=MODEL.w_max, stretches=np.array([DURATION]),
                 extra=np.full((1, net.n_neurons), neuron.mu), threads=threads)
        output = subprocess.run([python, str(BRIAN2_SCRIPT), str(arrays), scratch, mode], capture_output=True,
                                text=True)
    if output.returncode != 0:
        raise RuntimeError(f"Brian2 ({mode}) failed:\n" + "\n".join(output.stderr.splitlines()[-15:]))
    return json.loads(output.stdout.strip().splitlines()[-1])


def _agree(name, rate, weight, ours_rate, ours_weight):
    if abs(rate / ours_rate - 1) > RATE_TOLERANCE:
        raise AssertionError(f"{name} fires at {rate:.2f} Hz, this project at {ours_rate:.2f} Hz")
    if abs(weight / ours_weight - 1) > WEIGHT_TOLERANCE:
        raise AssertionError(f"{name} learns a mean I->E weight of {weight:.4f}, this project {ours_weight:.4f}")


def run(threads: int | None = None, brian2_python: str | None = None, seed: int = 1,
        size: tuple[int, int, float] = (8000, 2000, 0.02)) -> dict:
    """The simulators on the plastic network (``size``: N_E, N_I and eps; Vogels' unless given)."""
    threads = threads or numba.get_num_threads()
    started = time.perf_counter()
    net = network(*size, seed=seed)
    build_seconds = time.perf_counter() - started
    v_init = lif.Simulation(net, rng=seed).v.copy()

    seconds, record, weight = run_ours(net, seed)
    rate = record.rates().mean()
    neuron_steps = net.n_neurons * DURATION / net.dt
    events = plastic_events(net, record)
    rows = [{"candidate": f"package (numba, up to {threads} threads)", "seconds": seconds, "rate": rate,
             "mean_weight": weight, "ns_per_neuron_step": 1e9 * seconds / neuron_steps}]
    timings = {}
    started = time.perf_counter()
    theirs = lif.run_in_nest(net, DURATION, v_init, seed=seed + 1, threads=threads, timings=timings)
    nest_total = time.perf_counter() - started
    _agree("NEST", theirs.rates().mean(), timings["mean_weight I->E"], rate, weight)
    rows.append({"candidate": f"NEST 3.10 simulate ({threads} threads)", "seconds": timings["simulate_seconds"],
                 "rate": theirs.rates().mean(), "mean_weight": timings["mean_weight I->E"],
                 "seconds_with_setup": nest_total})
    python = brian2_python or os.environ.get("BRIAN2_PYTHON")
    for mode, label in (("standalone", f"C++ standalone run ({threads} threads)"), ("runtime", "runtime (Cython)")):
        brian = run_brian2(net, v_init, threads, python, mode)
        if brian is None:
            rows.append({"candidate": f"Brian2 {label}", "seconds": None,
                         "missing": "no Brian2 environment (give --brian2-python or BRIAN2_PYTHON)"})
            continue
        _agree(f"Brian2 ({mode})", brian["rate"], brian["mean_weight"], rate, weight)
        rows.append({"candidate": f"Brian2 {brian['version']} {label}", "seconds": brian["run_seconds"],
                     "rate": brian["rate"], "mean_weight": brian["mean_weight"],
                     "compile_seconds": brian["compile_seconds"]})
    return {
        "benchmark": "plastic_network",
        "machine": machine(),
        "workload": {"n_exc": size[0], "n_inh": size[1], "eps": size[2], "n_synapses": net.n_synapses,
                     "n_plastic": int(net.plastic_synapses("I->E").size), "duration_ms": DURATION, "threads": threads,
                     "build_seconds": build_seconds, "plastic_events": events,
                     "ns_per_plastic_event_upper": 1e9 * seconds / events},
        "rows": rows,
    }


def show(result: dict) -> str:
    w = result["workload"]
    lines = [
        f"plastic network (Vogels et al. 2011): {w['n_exc']} + {w['n_inh']} conductance neurons, {w['n_synapses']} "
        f"synapses ({w['n_plastic']} learning), {w['duration_ms']:.0f} ms; built in {w['build_seconds']:.2f} s",
        f"{w['plastic_events']} plastic events; the whole run over them: {w['ns_per_plastic_event_upper']:.1f} ns each",
        *candidate_lines(result["rows"], width=52),
    ]
    weights = [f"{row['candidate']}: {row['mean_weight']:.4f}" for row in result["rows"] if row.get("seconds")]
    return "\n".join(lines + ["mean learned I->E weight (leak conductances): " + "; ".join(weights)])


def main(argv=None):
    command_line(run, show, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
