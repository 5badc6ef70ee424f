"""How the package uses the cores: one place for every threading choice.

The book runs on laptops and shared cluster nodes, where other programs compete for the cores.
Measured on a two-core machine with two spinning processes beside it (issue 24), the choices
below keep every kernel at least as fast as on one thread, and idle they lose little:

* **Threading layer: numba's ``workqueue``.** Its pool threads sleep when they have no work.
  Numba's default layer on Linux is OpenMP, whose threads spin while they wait for the next
  parallel region; a rate network opens one region per Euler step, and under load a spinning
  thread takes the core its partner needs, so the step took up to 8 times longer than on one
  thread (one step at N = 10 000: 8.0 ms busy against 3.3 ms on one thread). With workqueue, two
  threads beat one, busy, in every rate workload measured. OpenMP's passive wait
  (``OMP_WAIT_POLICY=passive``) was 35 % slower than workqueue busy at N = 10 000 and 12 % faster
  at N = 50 000. A user who sets ``NUMBA_THREADING_LAYER`` keeps their choice; if that choice is
  OpenMP, the wait policy defaults to passive here unless ``OMP_WAIT_POLICY`` is set too.
* **Thread count by problem size** (``threads_for``). A parallel region costs tens of
  microseconds idle and milliseconds when a thread has to wait for a core, so work below
  ``MIN_PARALLEL_WORK`` elements per region runs on one thread (at N = 2 000 a two-thread rate
  step once took 9.1 ms against 0.14 ms on one thread). Every parallel kernel here splits its
  work by rows, each row summed by one thread in a fixed order, so the results do not depend on
  the thread count: choosing it is a question of speed only.
* **BLAS inside optimisers: one thread** (``one_blas_thread``). Fits that call an optimiser
  thousands of times on small arrays (chapter 1's L-BFGS-B) gain nothing from OpenBLAS's threads,
  which busy-wait between calls and under load turned a 60 s chapter into 22 minutes; chapter 2's
  bootstrap of least-squares rule fits ran 11 times slower beside two spinning processes. The same
  holds for ARPACK's eigenvalue iterations on long vectors (``retrieval.leading_eigenvalues``).
* **Spiking kernels (Part II)** must not open a parallel region per time step: at 10^4 steps per
  simulated second that is the failure above, ten thousand times a second. They synchronise at
  most once per minimum synaptic delay, or run independent trials or networks in parallel. Their
  random draws come from ``helpers.rng``'s counter-based generator, whose numbers are a function
  of (seed, stream, counter): the same seed gives the same spikes at any thread count, and a run
  saved with its counter resumes bit-exactly. Numba's built-in generator has per-thread hidden
  state and gives neither.

Import this module before any numba kernel runs (``helpers`` does so on import): the layer is
fixed when numba starts its first parallel region.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numba

#: Numba's threading layer for the package, unless the user chose one (``NUMBA_THREADING_LAYER``).
THREADING_LAYER = "workqueue"
#: Elements of work (synapses read, matrix entries) per parallel region below which one thread
#: runs it: about a millisecond on one core (a rate step gathers at about 1 ns per synapse), far
#: above what opening a region costs on an idle machine and comparable to the wait for a core on
#: a busy one.
MIN_PARALLEL_WORK = 1_000_000


def _choose_layer() -> None:
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = THREADING_LAYER
    elif os.environ["NUMBA_THREADING_LAYER"].lower() in ("omp", "openmp"):
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")


_choose_layer()


def threads_for(work: int) -> int:
    """Threads for one parallel region of ``work`` elements: 1 below ``MIN_PARALLEL_WORK``, else all.

    "All" is numba's current setting (``NUMBA_NUM_THREADS``, or ``numba.set_num_threads``), so a
    user who limits the package to fewer threads is obeyed.
    """
    if work < MIN_PARALLEL_WORK:
        return 1
    return _ceiling()


# The thread count outside any ``for_work`` block, fixed on entry to the outermost one. Per Python
# thread, as numba's own setting is (a threaded Dask worker may run several networks at once).
_outermost = threading.local()


def _ceiling() -> int:
    limit = getattr(_outermost, "limit", None)
    return limit if limit is not None else numba.get_num_threads()


@contextlib.contextmanager
def for_work(work: int):
    """Run the numba kernels inside the block on ``threads_for(work)`` threads, then restore."""
    before = numba.get_num_threads()
    outer = getattr(_outermost, "limit", None)
    if outer is None:
        _outermost.limit = before
    numba.set_num_threads(threads_for(work))
    try:
        yield
    finally:
        numba.set_num_threads(before)
        _outermost.limit = outer


_controller = None  # threadpoolctl's view of the loaded BLAS libraries, found once (about 7 ms)


@contextlib.contextmanager
def one_blas_thread():
    """Limit the BLAS libraries (OpenBLAS, MKL) to one thread inside the block.

    Cheap enough (about 0.05 ms) to wrap each fit. The libraries are looked up on first use, by
    which time numpy and scipy have loaded theirs.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
