"""Timing and memory measurement shared by the benchmarks.

Times are medians over repeats after one warm-up call (which also compiles numba kernels). Peak
memory is the peak of NumPy's allocations traced by ``tracemalloc`` during one call, above what
was allocated before it: inputs are not counted, outputs and temporaries are. BLAS work buffers
are not NumPy arrays and are not seen; they are small next to the arrays measured here.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
import tracemalloc


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


def machine() -> dict:
    """What the numbers were measured on."""
    import os
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
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }


def report(result: dict, text: str, json_path: str | None) -> None:
    """Print a benchmark's table and, when a path is given, save its result as JSON."""
    print(text)
    if json_path:
        with open(json_path, "w") as out:
            json.dump(result, out, indent=2)
