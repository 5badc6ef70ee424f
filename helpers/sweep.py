"""Parameter sweeps: one notebook rerun with papermill over a grid, locally or on a Dask cluster.

A sweep takes a notebook with a cell tagged ``parameters`` and a grid (parameter name -> list of
values), runs the notebook once for every point of the grid's Cartesian product, and gathers the
scalars each run records with myst-nb's ``glue`` into one tidy table (one row per run)::

    from helpers import sweep
    table = sweep.run_sweep("retrieval_point.ipynb", {"load": [0.1, 0.3], "amplitude": [2.0, 3.55]},
                            out="../runs/sweeps/retrieval")

or, from a shell, ``python -m helpers.sweep NOTEBOOK --param load 0.1 0.3 --out DIR``.

Where the runs go: ``out/runs/<run id>.ipynb`` (the executed notebook) and ``out/runs/<run id>.json``
(its record: parameters, status, time, the glued results or the error), then ``out/results.csv``.
A run's id is a hash of its parameters, so the same point always lands in the same files.

Nothing is lost. A record is written when its run ends, atomically, so:

- a rerun of the same sweep skips every run that is done (unless the notebook's code changed
  since: its record keeps a hash of the code cells, and a stale run is done again);
- a failing run is recorded with its error and the others go on; a rerun retries it;
- an interrupted sweep (Ctrl-C, a killed process, a lost cluster) resumes from its records.

Where the runs execute: a local process pool by default, or the workers of a Dask distributed
cluster given its scheduler's address (``scheduler="tcp://host:8786"``), with no change to the
notebook. Dask's workers need the book's environment and the notebook's folder at the same path
(the notebook's own relative paths are resolved there); the executed notebooks and the records
come back to the machine that started the sweep and are written there.

A bad grid fails before any run starts: an unknown parameter name, a value that is not plain
data, or a point that the notebook's declaration of its parameters (``helpers.parameters``, in the
code cell right after the parameters, by the book's convention) does not allow. The declaration
is read as data: none of the notebook's code runs before the runs do.

Stopping and failing: Ctrl-C or SIGTERM stops the sweep within seconds, with its running runs and
their kernels, keeping every run that ended; a run whose process dies (killed, out of memory) is
recorded as failed and the others go on; a second sweep on the same folder stops at once instead
of racing the first.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

import nbformat
import pandas as pd
import papermill

from helpers.parameters import Declaration, read_declaration

#: myst-nb's prefix for values glued with ``display=False``.
_GLUE_PREFIX = "application/papermill.record/"
#: Environment variables that size a run's thread pools (numba, OpenMP, BLAS).
_THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Columns of the results table that describe the run rather than its parameters or results.
RUN_COLUMNS = ("run_id", "status", "seconds", "error")


# ----------------------------------------------------------------------------------------------
# The grid
# ----------------------------------------------------------------------------------------------

def run_id(parameters: Mapping) -> str:
    """A short, stable id for a point of the grid: a hash of its parameters as canonical JSON."""
    canonical = json.dumps(dict(parameters), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()[:12]


def _is_plain(value) -> bool:
    """Numbers, strings, booleans, None, and lists or string-keyed dicts of them: what papermill passes."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return False


def grid_points(grid: Mapping, fixed: Mapping | None = None) -> list[dict]:
    """Every point of the grid's Cartesian product, in order, each with the ``fixed`` parameters.

    ``grid`` maps parameter names to non-empty lists of values; values must be plain data
    (numbers, strings, booleans, None, and lists or dicts of them), as papermill passes them.
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping of parameter name -> list of values, got {grid!r}")
    fixed = dict(fixed or {})
    for name, values in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid: parameter names must be strings, got {name!r}")
        if not isinstance(values, list | tuple) or len(values) == 0:
            raise ValueError(f"grid: {name} must be a non-empty list of values, got {values!r}")
        if name in fixed:
            raise ValueError(f"grid: {name} is both swept and fixed; give it in one place")
    for name, value in [*((n, v) for n, vs in grid.items() for v in vs), *fixed.items()]:
        if not _is_plain(value):
            raise ValueError(
                f"grid: {name} = {value!r} is not plain data (numbers, strings, booleans, None, lists, dicts)"
            )
    names = list(grid)
    points = [{**dict(zip(names, values, strict=True)), **fixed} for values in itertools.product(*grid.values())]
    ids = [run_id(point) for point in points]
    if len(set(ids)) != len(ids):
        raise ValueError("grid: a value is repeated, so two runs would be the same run")
    return points


# ----------------------------------------------------------------------------------------------
# The notebook
# ----------------------------------------------------------------------------------------------

def _parameters_cell(notebook) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return index
    raise ValueError("notebook: no code cell is tagged 'parameters', so there is nothing to sweep")


def code_hash(notebook) -> str:
    """A hash of the notebook's code cells: a record made by other code is stale."""
    code = "\n\x00".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    return hashlib.sha1(code.encode()).hexdigest()[:12]


def notebook_parameters(path) -> dict:
    """The notebook's parameters and their defaults, read from its ``parameters`` cell without running it.

    Each statement of the cell must assign a literal value (a number, string, list, dict...) to
    one name, as papermill's own reading of the cell assumes.
    """
    notebook = nbformat.read(str(path), as_version=4)
    source = notebook.cells[_parameters_cell(notebook)].source
    defaults = {}
    for statement in ast.parse(source).body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ValueError(f"notebook: {Path(path).name}'s parameters cell must only assign values to names, "
                             f"found {ast.unparse(statement)[:80]!r}")
        try:
            defaults[statement.targets[0].id] = ast.literal_eval(statement.value)
        except ValueError:
            raise ValueError(f"notebook: {Path(path).name}'s parameter {statement.targets[0].id} is not a literal "
                             f"value: {ast.unparse(statement.value)[:80]!r}") from None
    return defaults


def notebook_declaration(path) -> Declaration | None:
    """The declaration of the notebook's parameters (``helpers.parameters``), read without running it.

    By the book's convention it is in the code cell right after ``parameters``; None if there is none.
    """
    notebook = nbformat.read(str(path), as_version=4)
    following = [cell for cell in notebook.cells[_parameters_cell(notebook) + 1:] if cell.cell_type == "code"][:1]
    return read_declaration(following[0].source) if following else None


def check_grid(path, points: list[dict]) -> None:
    """Stop before any run if a point names an unknown parameter or gives a value that is not allowed.

    What is allowed comes from the notebook's declaration of its parameters (``helpers.parameters``),
    read as data: none of the notebook's code runs. A notebook without a declaration is checked
    for unknown names only.
    """
    path = Path(path)
    defaults = notebook_parameters(path)
    declaration = notebook_declaration(path)
    known = declaration.names if declaration is not None else sorted(defaults)
    unknown = sorted({name for point in points for name in point} - set(known))
    if unknown:
        raise ValueError(f"grid: unknown parameter(s) {unknown} for {path.name}; its parameters are {known}")
    if declaration is None:
        return
    rejected = []
    for point in points:
        problems = declaration.problems({**defaults, **point})
        if problems:
            rejected.append(f"{point}: " + "; ".join(problems))
    if rejected:
        shown = "\n  ".join(rejected[:5]) + (f"\n  ... and {len(rejected) - 5} more" if len(rejected) > 5 else "")
        raise ValueError(f"grid: {path.name} rejects {len(rejected)} of {len(points)} points:\n  {shown}")


def _plain(text: str):
    """The value of a glued scalar from its text/plain form (``0.5``, ``'a'``, ``np.float64(0.5)``)."""
    match = re.fullmatch(r"np\.\w+\((.*)\)", text.strip(), flags=re.S)
    try:
        value = ast.literal_eval(match.group(1) if match else text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, int | float | str | bool) else None


def glued_scalars(notebook) -> dict:
    """The scalars a notebook recorded with ``myst_nb.glue`` (numbers, strings, booleans), by name."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            text = output.get("data", {}).get(record.get("mime_prefix", "") + "text/plain")
            value = _plain(text) if text is not None else None
            if value is not None:
                values[record["name"]] = value
    return values


# ----------------------------------------------------------------------------------------------
# One run (executes on a worker: a local process or a Dask worker)
# ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's standard error (file descriptor 2, which child processes inherit) to ``path``."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "w") as log:
            os.dup2(log.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _no_cell_started(executed) -> bool:
    """Whether papermill never began a cell of ``executed`` (None: it wrote no notebook at all)."""
    if executed is None:
        return True
    return all(cell.get("metadata", {}).get("papermill", {}).get("start_time") is None for cell in executed.cells)


def _execute_once(source: str, name: str, parameters: dict, workdir: str,
                  timeout: float | None) -> tuple[str, str | None, object, str | None]:
    """One papermill execution: (status, error, executed notebook or None, the kernel's log if it failed)."""
    with tempfile.TemporaryDirectory() as scratch:
        source_path, output_path = Path(scratch) / name, Path(scratch) / f"out-{name}"
        source_path.write_text(source)
        kernel_log = Path(scratch) / "kernel.log"
        try:
            with _stderr_to(kernel_log):  # the kernel's own log would otherwise land in the caller's output
                papermill.execute_notebook(str(source_path), str(output_path), parameters=parameters, cwd=workdir,
                                           kernel_name="python3", progress_bar=False, execution_timeout=timeout)
            status, error = "done", None
        except papermill.PapermillExecutionError as failure:
            status, error = "failed", f"{failure.ename}: {failure.evalue}"
        except Exception as failure:  # noqa: BLE001 - a dead kernel, a timeout: recorded, the sweep goes on
            status, error = "failed", "".join(traceback.format_exception_only(failure)).strip()
        executed = nbformat.read(str(output_path), as_version=4) if output_path.is_file() else None
        log = kernel_log.read_text()[-4000:] if status == "failed" and kernel_log.is_file() else None
    return status, error, executed, log


def execute_run(source: str, name: str, parameters: dict, workdir: str, threads: int | None,
                timeout: float | None) -> tuple[dict, str]:
    """Execute one point; return its record and the executed notebook (JSON text).

    Never raises for a failure of the notebook: the record says ``failed`` and keeps the error.
    A kernel that fails before the first cell begins (Jupyter's kernels pick their ports before
    they bind them, and on a busy machine another process can take one in between) is started
    once more; the record keeps the first attempt's error under ``retried_after``. A failure
    inside the notebook is never retried.
    """
    for variable in _THREAD_VARIABLES if threads else ():
        os.environ[variable] = str(threads)  # the kernel papermill starts inherits these
    started = time.time()
    record = {"run_id": run_id(parameters), "parameters": parameters, "notebook": name,
              "started": started, "worker": os.uname().nodename}
    status, error, executed, log = _execute_once(source, name, parameters, workdir, timeout)
    if status == "failed" and _no_cell_started(executed):
        record["retried_after"] = error
        status, error, executed, log = _execute_once(source, name, parameters, workdir, timeout)
    if log is not None:
        record["kernel_log"] = log
    results = {}
    if executed is not None:
        results = glued_scalars(executed) if status == "done" else {}
        # papermill stores the scratch paths it ran from; keep names that mean something in the sweep
        executed.metadata.get("papermill", {}).update(input_path=name, output_path=f"runs/{record['run_id']}.ipynb")
    record.update(status=status, error=error, seconds=time.time() - started, results=results)
    return record, nbformat.writes(executed) if executed is not None else ""


# ----------------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------------

def _write_atomically(path: Path, text: str) -> None:
    """Write to a file of this process's own and move it into place: never half-written, never shared."""
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


@contextlib.contextmanager
def _folder_lock(out: Path):
    """Hold ``out/.sweep.lock`` for the sweep: a second sweep on the same folder stops at once.

    The lock is the operating system's (``flock``): it goes with the process, so a killed sweep
    leaves no stale lock behind.
    """
    import fcntl

    lock = open(out / ".sweep.lock", "a+")  # noqa: SIM115 - held open for the whole sweep
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise ValueError(f"out: another sweep ({holder}) is running on {out}; wait for it to end, "
                         "or give this sweep another folder") from None
    try:
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()} on {os.uname().nodename}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        lock.flush()
        yield
    finally:
        lock.close()


def _read_records(folder: Path) -> dict[str, dict]:
    records = {}
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # a record is written atomically; anything else is not ours
        records[record.get("run_id", path.stem)] = record
    return records


def results_table(records: list[dict]) -> pd.DataFrame:
    """One row per run: id, status, seconds, error, then its parameters, then its glued results.

    Parameters that are lists or dicts are kept as JSON text, so the table stays flat.
    """
    rows = []
    for record in records:
        row = {"run_id": record["run_id"], "status": record["status"], "seconds": record.get("seconds"),
               "error": record.get("error")}
        for name, value in record["parameters"].items():
            row[name] = json.dumps(value) if isinstance(value, list | dict) else value
        for name, value in record.get("results", {}).items():
            row[name if name not in row else f"result_{name}"] = value
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else list(RUN_COLUMNS))


def load_results(out) -> pd.DataFrame:
    """The results table of every run recorded under ``out`` (finished or failed), for replotting."""
    return results_table(list(_read_records(Path(out) / "runs").values()))


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_sweep(
    notebook,
    grid: Mapping,
    out,
    fixed: Mapping | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_run: int | None = None,
    retry_failed: bool = True,
    timeout: float | None = None,
    progress: Callable[[str], None] | None = _print_progress,
) -> pd.DataFrame:
    """Run ``notebook`` at every point of ``grid`` (with the ``fixed`` parameters) and gather the results.

    Parameters
    ----------
    notebook : path
        An ``.ipynb`` with a cell tagged ``parameters``. It runs in its own folder.
    grid : mapping
        Parameter name -> list of values; every combination is one run.
    out : path
        The sweep's folder: ``runs/`` (executed notebooks and records) and ``results.csv``.
    fixed : mapping, optional
        Parameters given to every run (e.g. a smaller network than the notebook's default).
    scheduler : str, optional
        The address of a Dask distributed scheduler; without it, a local process pool.
    workers : int, optional
        Local runs at once; by default one per core.
    threads_per_run : int, optional
        Threads each run's numba and BLAS may use; by default the cores shared among the workers
        (locally), or left to the cluster's workers.
    retry_failed : bool
        Rerun the points whose last run failed (default), or keep their failure.
    timeout : float, optional
        Seconds a single cell may run before its run is recorded as failed.
    progress : callable, optional
        Called with a line after each run (done, failed, remaining, time left); None for quiet.

    Returns
    -------
    pandas.DataFrame
        One row per point of the grid (see ``results_table``), in the grid's order; also written
        to ``out/results.csv``.
    """
    notebook = Path(notebook)
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise ValueError(f"notebook must be an existing .ipynb file, got {str(notebook)!r}")
    cores = os.cpu_count() or 1
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if threads_per_run is not None and (not isinstance(threads_per_run, int) or threads_per_run < 1):
        raise ValueError(f"threads_per_run must be an integer >= 1, got {threads_per_run!r}")
    if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    if scheduler is not None and not (isinstance(scheduler, str) and scheduler):
        raise ValueError(f"scheduler must be a Dask scheduler address such as 'tcp://host:8786', got {scheduler!r}")
    points = grid_points(grid, fixed)
    check_grid(notebook, points)

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a folder for the sweep's runs/ and results.csv, but {out} is a file")
    if (out / "runs").exists() and not (out / "runs").is_dir():
        raise ValueError(f"out: {out / 'runs'} must be the folder of the runs, but it is a file")
    folder = out / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out):
        return _sweep(notebook, points, out, folder, scheduler, workers or cores, threads_per_run, cores,
                      retry_failed, timeout, progress or (lambda message: None))


def _sweep(notebook: Path, points, out: Path, folder: Path, scheduler, workers, threads_per_run, cores,
           retry_failed, timeout, say) -> pd.DataFrame:
    source = notebook.read_text()
    version = code_hash(nbformat.reads(source, as_version=4))
    records = _read_records(folder)

    def finished(point):
        record = records.get(run_id(point))
        if record is None or record.get("code") != version:
            return False
        return record["status"] == "done" or (record["status"] == "failed" and not retry_failed)

    pending = [point for point in points if not finished(point)]
    stale = sum(1 for point in pending if run_id(point) in records and records[run_id(point)].get("code") != version)
    say(f"sweep of {notebook.name}: {len(points)} runs, {len(points) - len(pending)} already recorded, "
        f"{len(pending)} to run" + (f" ({stale} made by other code of the notebook)" if stale else ""))

    def save_table():
        table = results_table([records[run_id(point)] for point in points if run_id(point) in records])
        _write_atomically(out / "results.csv", table.to_csv(index=False))
        return table

    if not pending:
        return save_table()
    threads = threads_per_run or (None if scheduler else max(1, cores // min(workers, len(pending))))
    job = (source, notebook.name, str(notebook.parent.resolve()), threads, timeout)
    began, counts = time.time(), {"done": 0, "failed": 0}

    def keep(record: dict, executed: str) -> None:
        record["code"] = version
        if executed:
            _write_atomically(folder / f"{record['run_id']}.ipynb", executed)
        _write_atomically(folder / f"{record['run_id']}.json", json.dumps(record, indent=1))
        records[record["run_id"]] = record
        save_table()
        counts[record["status"]] += 1
        completed = counts["done"] + counts["failed"]
        remaining = len(pending) - completed
        left = (time.time() - began) / completed * remaining
        say(f"  {counts['done']} done, {counts['failed']} failed, {remaining} remaining"
            + (f", about {_minutes(left)} left" if remaining else "")
            + (f"  [failed {record['run_id']}: {record['error'].splitlines()[-1][:200]}]"
               if record["status"] == "failed" else ""))

    try:
        with _stop_on_sigterm():
            if scheduler:
                _run_on_cluster(scheduler, pending, job, keep)
            else:
                _run_locally(pending, workers, job, keep)
    except KeyboardInterrupt:
        say(f"interrupted: the {counts['done'] + counts['failed']} runs that ended are saved under "
            f"{folder}; run the same sweep again to resume")
        raise
    return save_table()


# ----------------------------------------------------------------------------------------------
# Where the runs execute: local processes (one per run) or a Dask cluster
# ----------------------------------------------------------------------------------------------

class SweepStopped(KeyboardInterrupt):
    """The sweep was told to stop (SIGTERM); handled like Ctrl-C."""


@contextlib.contextmanager
def _stop_on_sigterm():
    """Turn SIGTERM into ``SweepStopped`` in the main thread, so the sweep cleans up as for Ctrl-C."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SweepStopped(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _end_with_parent() -> None:
    """Stop this run, and the kernel it started, as soon as the sweep that started it is gone.

    A sweep killed outright (SIGKILL, a lost terminal) cannot stop its runs; each run watches for
    that itself, so no run outlives its sweep by more than half a second.
    """
    import threading

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        _stop_tree(os.getpid(), include_root=False)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _worker(connection, point: dict, job: tuple) -> None:
    """One local run, in its own process: execute it and send back its record and notebook."""
    # Ctrl-C reaches the terminal's whole process group; a run leaves it, and the sweep stops its runs itself.
    os.setpgrp()
    _end_with_parent()
    source, name, workdir, threads, timeout = job
    connection.send(execute_run(source, name, point, workdir, threads, timeout))
    connection.close()


def _death_record(point: dict, exitcode: int | None) -> dict:
    """The record of a run whose process died before it could report (killed, out of memory...)."""
    import signal

    cause = f"exit code {exitcode}"
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            cause = f"signal {signal.Signals(-exitcode).name}"
    return {"run_id": run_id(point), "parameters": point, "status": "failed", "seconds": None, "results": {},
            "error": f"WorkerDied: the run's process ended without a result ({cause})",
            "worker": os.uname().nodename}


def _stop_tree(pid: int, include_root: bool = True) -> None:
    """Terminate a process and everything under it (kernels run in sessions of their own); kill what stays."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [*root.children(recursive=True), *([root] if include_root else [])]
    except psutil.NoSuchProcess:
        return
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    _, alive = psutil.wait_procs(tree, timeout=5)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=5)


def _stop_processes(processes) -> None:
    """Stop the runs' processes and everything they started; join them, so that exiting waits for none."""
    for process in processes:
        if process.pid is not None:
            _stop_tree(process.pid)
    for process in processes:
        if process.pid is not None:
            process.join(timeout=1)


def _run_locally(pending: list[dict], workers: int, job: tuple, keep: Callable) -> None:
    """Run each point in a fresh process, ``workers`` at a time; a process that dies fails its run only."""
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited numba threads
    queue, running = list(pending), {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                point = queue.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_worker, args=(sender, point, job), name=f"sweep-{run_id(point)}")
                process.start()
                sender.close()
                running[process] = (point, receiver)
            wait([receiver for _, receiver in running.values()] + [process.sentinel for process in running])
            for process, (point, receiver) in list(running.items()):
                if receiver.poll():
                    try:
                        record, executed = receiver.recv()
                    except (EOFError, OSError):  # died while sending
                        process.join()
                        record, executed = _death_record(point, process.exitcode), ""
                    else:
                        process.join()
                elif not process.is_alive():
                    process.join()
                    record, executed = _death_record(point, process.exitcode), ""
                else:
                    continue
                receiver.close()
                del running[process]
                keep(record, executed)
    finally:
        # every run still going, including one whose start a Ctrl-C interrupted: Python would otherwise
        # wait for it at exit
        stray = [process for process in multiprocessing.active_children() if process not in running]
        if running or stray:
            _stop_processes(list(running) + stray)


def _run_on_cluster(scheduler: str, pending: list[dict], job: tuple, keep: Callable) -> None:
    """Run the points on a Dask cluster; a run whose worker is lost is recorded as failed."""
    try:
        from distributed import Client
    except ImportError as error:  # pragma: no cover - distributed is in requirements.txt
        raise ValueError("scheduler: Dask's distributed package is not installed") from error
    source, name, workdir, threads, timeout = job
    client = Client(scheduler, set_as_default=False)
    executor = client.get_executor(pure=False)
    futures = {}
    try:
        futures = {executor.submit(execute_run, source, name, point, workdir, threads, timeout): point
                   for point in pending}
        for future in concurrent.futures.as_completed(futures):
            try:
                record, executed = future.result()
            except Exception as failure:  # noqa: BLE001 - a lost worker (KilledWorker): recorded, the sweep goes on
                record, executed = _death_record(futures[future], None), ""
                record["error"] = "WorkerDied: " + "".join(traceback.format_exception_only(failure)).strip()
            keep(record, executed)
    finally:
        for future in futures:
            future.cancel()  # runs not started yet; a rerun does them
        executor.shutdown(wait=False)
        client.close()


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------

def _parse_value(text: str):
    """A value as typed on the command line: a number if it reads as one (``1e-3``, ``10``), else YAML.

    YAML alone reads ``1e-3`` as the string '1e-3' (it wants ``1.0e-3``); ``inf`` and ``nan`` become
    floats here, for the notebook's declaration to reject by name.
    """
    import yaml

    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def _command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.sweep",
        description="Run a notebook over a parameter grid with papermill, locally or on a Dask cluster.",
    )
    parser.add_argument("notebook", help="the .ipynb to run (it runs in its own folder)")
    parser.add_argument("--param", nargs="+", action="append", metavar=("NAME", "VALUE"), default=[],
                        help="a swept parameter and its values (numbers as numbers, else YAML: true, [1, 2], text)")
    parser.add_argument("--set", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                        help="a parameter fixed for every run")
    parser.add_argument("--grid", help="a YAML or JSON file: {grid: {name: [values]}, fixed: {name: value}}")
    parser.add_argument("--out", required=True, help="the sweep's folder (runs/ and results.csv)")
    parser.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786); default: local processes")
    parser.add_argument("--workers", type=int, help="local runs at once (default: one per core)")
    parser.add_argument("--threads-per-run", type=int, help="numba/BLAS threads of each run")
    parser.add_argument("--timeout", type=float, help="seconds a cell may run before its run fails")
    parser.add_argument("--keep-failed", action="store_true", help="do not retry runs that failed before")
    return parser


def read_grid_file(path) -> tuple[dict, dict]:
    """The grid and fixed parameters of a grid file ({grid: {name: [values]}, fixed: {name: value}})."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"grid: no file {path}")
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict) or not set(spec) <= {"grid", "fixed"}:
        raise ValueError(f"grid: {path} must hold a mapping with the keys grid and (optionally) fixed")
    return dict(spec.get("grid") or {}), dict(spec.get("fixed") or {})


def parse_command_line(argv) -> tuple[argparse.Namespace, dict, dict]:
    """The command line's options, grid and fixed parameters (``--grid`` file first, then ``--param``, ``--set``)."""
    parser = _command_line()
    args = parser.parse_args(argv)
    grid, fixed = {}, {}
    if args.grid:
        try:
            grid, fixed = read_grid_file(args.grid)
        except ValueError as error:
            parser.error(f"--grid: {error}")
    for entry in args.param:
        if len(entry) < 2:
            parser.error(f"--param {entry[0]}: give the parameter's name and at least one value")
        grid[entry[0]] = [_parse_value(value) for value in entry[1:]]
    for name, value in args.set:
        fixed[name] = _parse_value(value)
    return args, grid, fixed


def main(argv=None) -> int:
    args, grid, fixed = parse_command_line(argv)
    try:
        table = run_sweep(args.notebook, grid, args.out, fixed=fixed, scheduler=args.scheduler, workers=args.workers,
                          threads_per_run=args.threads_per_run, retry_failed=not args.keep_failed,
                          timeout=args.timeout)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SweepStopped:
        return 143
    except KeyboardInterrupt:
        return 130
    failed = int((table["status"] == "failed").sum()) if len(table) else 0
    print(f"{len(table) - failed} runs done, {failed} failed; table: {Path(args.out) / 'results.csv'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
