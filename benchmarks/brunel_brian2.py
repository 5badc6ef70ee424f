"""Brian2's side of ``benchmarks.brunel_network``: run in an environment that has Brian2.

Reads the network that ``brunel_network`` saved (connections, weights in mV, delays in steps,
initial potentials, the Poisson drive), builds it in Brian2's C++ standalone mode with OpenMP,
and prints one JSON line: Brian2's version, the seconds spent generating and compiling the code,
the seconds of the run itself (as the compiled program measured it), and the mean rate.

Run: ``BRIAN2_PYTHON benchmarks/brunel_brian2.py NETWORK.npz WORKDIR``.
"""

import json
import sys
import time

import brian2 as b2
import numpy as np


def main(arrays_path: str, workdir: str) -> None:
    data = np.load(arrays_path)
    n = int(data["n_neurons"])
    dt = float(data["dt"])
    b2.set_device("cpp_standalone", directory=workdir + "/brian2", build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = int(data["threads"])
    b2.defaultclock.dt = dt * b2.ms
    tau, theta, v_reset = 20 * b2.ms, 20 * b2.mV, 10 * b2.mV  # Brunel's, as in helpers.balance
    neurons = b2.NeuronGroup(n, "dv/dt = -v / tau : volt (unless refractory)", threshold="v >= theta",
                             reset="v = v_reset", refractory=2 * b2.ms, method="exact",
                             namespace={"tau": tau, "theta": theta, "v_reset": v_reset})
    neurons.v = data["v_init"] * b2.mV
    # Input that arrives while a neuron is refractory is lost, as in NEST's iaf_psc_delta and in
    # this project; Brian2 would otherwise add it to v and fire again as the period ends.
    neurons.run_regularly("v = v * int(not_refractory) + v_reset * int(not not_refractory)",
                          when="before_thresholds")
    synapses = b2.Synapses(neurons, neurons, "w : volt", on_pre="v += w")
    synapses.connect(i=data["sources"].astype(np.int64), j=data["targets"].astype(np.int64))
    synapses.w = data["weights"].astype(np.float64) * b2.mV
    delays = data["delays"].astype(np.float64) * dt
    # one delay for all, as Brunel's network has, is given as one number: Brian2 then keeps one queue
    synapses.delay = (delays[0] if np.all(delays == delays[0]) else delays) * b2.ms
    # held in a name: Brian2's run collects only the objects the calling frame can see
    drive = b2.PoissonInput(neurons, "v", N=int(data["drive_sources"]), rate=float(data["drive_rate"]) * b2.Hz,
                    weight=float(data["drive_weight"]) * b2.mV)
    monitor = b2.SpikeMonitor(neurons)
    b2.run(float(data["duration"]) * b2.ms)
    del drive
    started = time.perf_counter()
    b2.device.build(directory=workdir + "/brian2", compile=True, run=True, debug=False)
    total = time.perf_counter() - started
    run_seconds = float(b2.device._last_run_time)
    rate = len(monitor.i[:]) / n / (float(data["duration"]) * 1e-3)
    print(json.dumps({"version": b2.__version__, "compile_seconds": total - run_seconds,
                      "run_seconds": run_seconds, "rate": rate}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
