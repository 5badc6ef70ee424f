"""Timing and memory measurement shared by the benchmarks.

Times are medians over repeats after one warm-up call (which also compiles numba kernels). Peak
memory is the peak of NumPy's allocations traced by ``tracemalloc`` during one call, above what
was allocated before it: inputs are not counted, outputs and temporaries are. BLAS work buffers
are not NumPy arrays and are not seen; they are small next to the arrays measured here.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

#: What a busy machine means here: one spinning process per core beside the benchmark, so that
#: every thread of the benchmark competes for a core (the machine is oversubscribed twice or more).
BUSY_PROCESSES_PER_CORE = 1
#: Above this share of the machine's CPU taken by other programs, a measurement is not "idle".
IDLE_SHARE = 0.1


def median_time(function, repeats: int = 5) -> float:
    """Median wall time (s) of ``function()`` over ``repeats`` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_median_times(functions, repeats: int = 5) -> list[float]:
    """Median wall time (s) of each function, the calls taken in turn, after one warm-up call each.

    On a shared machine a slow spell then falls on every function alike, so the ratios of the
    medians vary less from run to run than those of functions timed one after another.
    """
    for function in functions:
        function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, taken in zip(functions, times, strict=True):
            gc.collect()
            start = time.perf_counter()
            function()
            taken.append(time.perf_counter() - start)
    return [statistics.median(taken) for taken in times]


def peak_memory(function) -> int:
    """Peak bytes allocated through NumPy while ``function()`` runs, its result included."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def _own_seconds() -> float:
    """CPU seconds of this process and of its children that ended and were waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


class LoadMeter:
    """The share of the machine's CPU that other programs took while the block ran, in [0, 1].

    The machine's busy time over the block minus this process's own CPU time (with that of the
    child processes it ran to the end inside the block: a baseline in an environment of its own),
    over the block's wall time times the cores. Spinning processes started by ``background_load``
    count as others: they are still running when the block ends.
    ``share`` is None where /proc/stat is not available.
    """

    def __enter__(self):
        self.share = None
        self._start = (time.perf_counter(), _own_seconds(), _busy_seconds())
        return self

    def __exit__(self, *exc):
        wall, own, busy = self._start
        now = _busy_seconds()
        if busy is not None and now is not None:
            elapsed = time.perf_counter() - wall
            others = (now - busy) - (_own_seconds() - own)
            self.share = min(1.0, max(0.0, others / (elapsed * (os.cpu_count() or 1))))
        return False


@contextlib.contextmanager
def background_load(processes: int):
    """Run the block with ``processes`` spinning Python processes beside it; they are killed after."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        time.sleep(0.5 if spinners else 0)  # let them reach the cores
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def idle_and_busy(run, conditions=("idle", "busy")) -> dict:
    """``run()`` on the machine as it is ("idle") and beside a background load of our own ("busy").

    Each result gets a ``load``: the background processes started, the share of the CPU other
    programs took during the run (ours included in the busy run), the one-minute load average
    after it, and for the idle run whether the machine was in fact idle.
    """
    results = {}
    for condition in conditions:
        if condition not in ("idle", "busy"):
            raise ValueError(f"condition must be 'idle' or 'busy', got {condition!r}")
        processes = BUSY_PROCESSES_PER_CORE * (os.cpu_count() or 1) if condition == "busy" else 0
        with background_load(processes), LoadMeter() as meter:
            result = run()
        result["load"] = {
            "background_processes": processes,
            "others_cpu_share": meter.share,
            "load_average_1min": os.getloadavg()[0],
            "idle": None if meter.share is None else (processes == 0 and meter.share <= IDLE_SHARE),
        }
        results[condition] = result
    return results


def machine() -> dict:
    """What the numbers were measured on."""
    import platform

    import numba
    import numpy
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": _threading_layer(),
        "load_average_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }


def _threading_layer() -> str | None:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return None


def add_conditions_argument(parser) -> None:
    """The ``--conditions`` option every benchmark takes."""
    parser.add_argument(
        "--conditions", default="idle,busy",
        help="comma-separated: idle (the machine as it is), busy (one spinning process per core beside it)",
    )


def report_conditions(run, show, args) -> None:
    """Run a benchmark under each of ``args.conditions``, print each table and save them together."""
    conditions = tuple(name.strip() for name in args.conditions.split(",") if name.strip())
    results = idle_and_busy(run, conditions)
    parts = []
    for condition, result in results.items():
        load = result["load"]
        share = "not measured" if load["others_cpu_share"] is None else f"{load['others_cpu_share']:.0%}"
        heading = f"--- {condition}: {load['background_processes']} background processes; other programs took {share}"
        if condition == "idle" and load["idle"] is False:
            heading += " of the CPU (not idle: other work ran beside this run)"
        else:
            heading += " of the CPU"
        parts.append(f"{heading}\n{show(result)}")
    report({"conditions": results, "machine": machine()}, "\n\n".join(parts), args.json)


def report(result: dict, text: str, json_path: str | None) -> None:
    """Print a benchmark's table and, when a path is given, save its result as JSON."""
    print(text)
    if json_path:
        with open(json_path, "w") as out:
            json.dump(result, out, indent=2)
