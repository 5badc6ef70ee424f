"""Brian2's side of the spiking benchmarks (``brunel_network``, ``spiking_memory``): run in an
environment that has Brian2.

Reads the network a benchmark saved (connections, weights in mV, delays in steps, the neurons'
parameters, initial potentials, the Poisson drive, and a protocol: stretches of given durations,
each with an extra input per neuron added to the constant input, as ``Simulation.run``'s), builds
it in Brian2 and prints one JSON line: Brian2's version, the seconds spent generating and
compiling the code, the seconds of the run itself, and the mean rate.

A network saved with ``synapse = "conductance"`` (``plastic_network``) is built as conductance-based
neurons instead (weights in leak conductances, no Poisson drive), its plastic synapses learning by
Vogels et al. (2011)'s rule; the JSON line then also gives their mean learned weight.

``standalone`` (the default): C++ standalone mode with OpenMP; the run's seconds are those the
compiled program measured. ``runtime``: Brian2's runtime mode with Cython, one thread; a first
short run compiles the code (it counts as compilation), then the protocol is timed around its runs.

Run: ``BRIAN2_PYTHON benchmarks/brian2_network.py NETWORK.npz WORKDIR [standalone|runtime]``.
"""

import json
import sys
import time

import brian2 as b2
import numpy as np


def build(data):
    b2.seed(1)  # Brian2's own draws (its Poisson input): the same in every run
    n = int(data["n_neurons"])
    dt = float(data["dt"])
    b2.defaultclock.dt = dt * b2.ms
    namespace = {"tau": float(data["tau_m"]) * b2.ms, "theta": float(data["theta"]) * b2.mV,
                 "v_reset": float(data["v_reset"]) * b2.mV}
    neurons = b2.NeuronGroup(n, "dv/dt = (-v + extra) / tau : volt (unless refractory)\nextra : volt",
                             threshold="v >= theta", reset="v = v_reset", refractory=float(data["t_ref"]) * b2.ms,
                             method="exact", namespace=namespace)
    neurons.v = data["v_init"] * b2.mV
    # Input that arrives while a neuron is refractory is lost, as in NEST's iaf_psc_delta and in
    # this project; Brian2 would otherwise add it to v and fire again as the period ends.
    neurons.run_regularly("v = v * int(not_refractory) + v_reset * int(not not_refractory)",
                          when="before_thresholds")
    synapses = b2.Synapses(neurons, neurons, "w : volt", on_pre="v += w")
    synapses.connect(i=data["sources"].astype(np.int64), j=data["targets"].astype(np.int64))
    synapses.w = data["weights"].astype(np.float64) * b2.mV
    delays = data["delays"].astype(np.float64) * dt
    # one delay for all, as these networks have, is given as one number: Brian2 then keeps one queue
    synapses.delay = (delays[0] if np.all(delays == delays[0]) else delays) * b2.ms
    drive = b2.PoissonInput(neurons, "v", N=int(data["drive_sources"]), rate=float(data["drive_rate"]) * b2.Hz,
                            weight=float(data["drive_weight"]) * b2.mV)
    monitor = b2.SpikeMonitor(neurons)
    # held in names: Brian2's run collects only the objects the calling frame can see
    return b2.Network(neurons, synapses, drive, monitor), neurons, monitor


def build_conductance(data):
    """Conductance-based neurons (``helpers.lif``'s equation, integrated by exponential Euler), static
    synapses split by sign, and the plastic ones (``plastic`` marks them) learning by Vogels' rule."""
    n = int(data["n_neurons"])
    b2.defaultclock.dt = float(data["dt"]) * b2.ms
    namespace = {name: float(data[name]) * b2.mV for name in ("theta", "v_reset", "e_exc", "e_inh")}
    namespace |= {name: float(data[name]) * b2.ms for name in ("tau_m", "tau_exc", "tau_inh", "tau_stdp")}
    namespace |= {"eta": float(data["eta"]), "alpha": float(data["alpha"]), "w_max": float(data["w_max"])}
    equations = """
    dv/dt = (extra - v + g_exc * (e_exc - v) + g_inh * (e_inh - v)) / tau_m : volt (unless refractory)
    dg_exc/dt = -g_exc / tau_exc : 1
    dg_inh/dt = -g_inh / tau_inh : 1
    extra : volt
    """
    neurons = b2.NeuronGroup(n, equations, threshold="v >= theta", reset="v = v_reset",
                             refractory=float(data["t_ref"]) * b2.ms, method="exponential_euler", namespace=namespace)
    neurons.v = data["v_init"] * b2.mV
    sources, targets = data["sources"].astype(np.int64), data["targets"].astype(np.int64)
    weights, plastic = data["weights"].astype(np.float64), data["plastic"].astype(bool)
    delay = float(data["delays"][0]) * float(data["dt"]) * b2.ms  # one delay for all, in this workload
    groups = []
    split = ((~plastic & (weights >= 0), "g_exc_post += w"), (~plastic & (weights < 0), "g_inh_post -= w"))
    for chosen, on_pre in split:
        synapses = b2.Synapses(neurons, neurons, "w : 1", on_pre=on_pre, delay=delay, namespace=namespace)
        synapses.connect(i=sources[chosen], j=targets[chosen])
        synapses.w = weights[chosen]
        groups.append(synapses)
    learning = b2.Synapses(
        neurons, neurons,
        "w : 1\ndtrace_from/dt = -trace_from / tau_stdp : 1 (event-driven)\n"
        "dtrace_to/dt = -trace_to / tau_stdp : 1 (event-driven)",
        on_pre="trace_from += 1\nw = clip(w + (trace_to - alpha) * eta, 0, w_max)\ng_inh_post += w",
        on_post="trace_to += 1\nw = clip(w + trace_from * eta, 0, w_max)", delay=delay, namespace=namespace)
    learning.connect(i=sources[plastic], j=targets[plastic])
    learning.w = -weights[plastic]
    monitor = b2.SpikeMonitor(neurons)
    return b2.Network(neurons, *groups, learning, monitor), neurons, monitor, learning


def run_protocol(network, neurons, data):
    for length, extra in zip(data["stretches"], data["extra"], strict=True):
        neurons.extra = extra * b2.mV
        network.run(float(length) * b2.ms)


def main(arrays_path: str, workdir: str, mode: str = "standalone") -> None:
    data = np.load(arrays_path)
    conductance = "synapse" in data and str(data["synapse"]) == "conductance"
    learning = None

    def build_either(data):
        nonlocal learning
        if not conductance:
            return build(data)
        network, neurons, monitor, learning = build_conductance(data)
        return network, neurons, monitor

    n = int(data["n_neurons"])
    duration = float(np.sum(data["stretches"]))
    if mode == "standalone":
        b2.set_device("cpp_standalone", directory=workdir + "/brian2", build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = int(data["threads"])
        network, neurons, monitor = build_either(data)
        run_protocol(network, neurons, data)
        started = time.perf_counter()
        b2.device.build(directory=workdir + "/brian2", compile=True, run=True, debug=False)
        total = time.perf_counter() - started
        run_seconds = float(b2.device._last_run_time)
        compile_seconds = total - run_seconds
    elif mode == "runtime":
        b2.prefs.codegen.target = "cython"
        b2.prefs.codegen.runtime.cython.cache_dir = workdir + "/cython"
        started = time.perf_counter()
        network, neurons, monitor = build_either(data)
        network.run(1 * b2.ms)  # compiles every code object
        compile_seconds = time.perf_counter() - started
        network, neurons, monitor = build_either(data)  # the same network, from the start
        started = time.perf_counter()
        run_protocol(network, neurons, data)
        run_seconds = time.perf_counter() - started
    else:
        raise ValueError(f"mode must be standalone or runtime, got {mode!r}")
    rate = len(monitor.i[:]) / n / (duration * 1e-3)
    result = {"version": b2.__version__, "mode": mode, "compile_seconds": compile_seconds,
              "run_seconds": run_seconds, "rate": rate}
    if learning is not None:
        result["mean_weight"] = float(np.mean(learning.w[:]))
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
