"""helpers.sweep: a notebook over a grid with papermill, locally and on a Dask LocalCluster.

The notebook here is a toy made in each test (a product of two parameters, glued), so the tests
exercise the sweep's bookkeeping, not a chapter: results gathered, failures recorded, finished
runs skipped, interrupted sweeps resumed with no run duplicated or missing.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from helpers import sweep

#: The toy's declaration of its parameters, as a chapter writes it; it also leaves a mark when it runs.
TOY_DECLARATION = """\
from pathlib import Path
from helpers.parameters import Flag, Integer, Number, declare

PARAMETERS = declare(x=Number(), y=Integer(at_least=0), fail=Flag(), die=Flag(), pause=Number(at_least=0))
Path('declaration-ran').touch()
PARAMETERS.check(globals())
"""


def toy_notebook(folder, extra_code=""):
    """A notebook with parameters x, y, fail, die, pause; it checks them, then glues x * y and sqrt(x).

    ``die`` kills the process that runs the notebook (the kernel's parent), as an out-of-memory
    killer would.
    """
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell("x = 1.0\ny = 2\nfail = False\ndie = False\npause = 0.0")
    parameters.metadata["tags"] = ["parameters"]
    validation = nbformat.v4.new_code_cell(TOY_DECLARATION)
    work = nbformat.v4.new_code_cell(
        "import os, signal, time\nimport numpy as np\nfrom myst_nb import glue\n" + extra_code
        + "time.sleep(pause)\nif fail:\n    raise RuntimeError('asked to fail')\n"
        "if die:\n    os.kill(os.getppid(), signal.SIGKILL)\n    time.sleep(60)\n"
        "glue('product', x * y)\nglue('root', np.sqrt(x), display=False)\nglue('label', f'x={x}')"
    )
    notebook.cells = [parameters, validation, work]
    path = folder / "toy.ipynb"
    nbformat.write(notebook, str(path))
    return path


def records(out):
    return {path.stem: json.loads(path.read_text()) for path in (out / "runs").glob("*.json")}


def _failures(table, out):
    """The error and kernel log of each failed run, for an assertion's message."""
    failed = table[table["status"] != "done"]["run_id"]
    return {run: (records(out)[run].get("error"), records(out)[run].get("kernel_log", "")[-1500:]) for run in failed}


def test_grid_points_are_the_product_with_stable_ids():
    points = sweep.grid_points({"x": [1, 2], "y": ["a", "b", "c"]}, fixed={"seed": 7})
    assert points[0] == {"x": 1, "y": "a", "seed": 7} and points[-1] == {"x": 2, "y": "c", "seed": 7}
    assert len(points) == 6 and len({sweep.run_id(p) for p in points}) == 6
    # The id depends on the parameters, not on their order.
    assert sweep.run_id({"x": 1, "y": "a", "seed": 7}) == sweep.run_id({"seed": 7, "y": "a", "x": 1})
    assert sweep.run_id({"x": 1}) != sweep.run_id({"x": 1.5})


@pytest.mark.parametrize(
    ("grid", "fixed", "message"),
    [
        ({}, None, "grid must be a non-empty mapping"),
        ({"x": []}, None, "grid: x must be a non-empty list of values"),
        ({"x": 0.5}, None, "grid: x must be a non-empty list of values, got 0.5"),
        ({"x": [object()]}, None, "grid: x = <object .*> is not plain data"),
        ({"x": [1, 1]}, None, "grid: a value is repeated"),
        ({"x": [1, 2]}, {"x": 3}, "grid: x is both swept and fixed"),
    ],
)
def test_bad_grids_stop_with_a_message_naming_the_problem(grid, fixed, message):
    with pytest.raises(ValueError, match=message):
        sweep.grid_points(grid, fixed)


def test_glued_values_are_read_back_as_numbers_and_strings():
    assert sweep._plain("0.25") == 0.25 and sweep._plain("np.float64(0.25)") == 0.25
    assert sweep._plain("'a b'") == "a b" and sweep._plain("np.int64(3)") == 3
    assert sweep._plain("<Figure size 640x480 with 1 Axes>") is None and sweep._plain("[1, 2]") is None


def test_a_bad_grid_fails_before_any_run_naming_the_parameter(tmp_path):
    notebook = toy_notebook(tmp_path)
    out = tmp_path / "sweep"
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['z'\] for toy.ipynb; its parameters are"):
        sweep.run_sweep(notebook, {"z": [1, 2]}, out, progress=None)
    with pytest.raises(ValueError, match=r"toy.ipynb rejects 2 of 3 points:\n.*y must be an integer >= 0, got -2"):
        sweep.run_sweep(notebook, {"y": [1, -2, 0.5]}, out, progress=None)
    with pytest.raises(ValueError, match=r"x must be a finite number, got inf"):
        sweep.run_sweep(notebook, {"x": [1.0, float("inf")]}, out, progress=None)
    assert not out.exists(), "nothing ran and nothing was written"
    assert not (tmp_path / "declaration-ran").exists(), "the check read the declaration without running it"
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        sweep.run_sweep(notebook, {"y": [1]}, out, workers=0)
    with pytest.raises(ValueError, match="notebook must be an existing .ipynb file"):
        sweep.run_sweep(tmp_path / "missing.ipynb", {"y": [1]}, out)


@pytest.mark.notebooks
def test_local_sweep_gathers_results_records_failures_and_skips_finished_runs(tmp_path):
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    grid = {"x": [1.0, 2.25], "fail": [False, True]}
    lines = []
    table = sweep.run_sweep(notebook, grid, out, fixed={"y": 3}, workers=2, progress=lines.append)
    assert list(table["run_id"]) == [sweep.run_id(p) for p in sweep.grid_points(grid, {"y": 3})]
    done, failed = table[table["status"] == "done"], table[table["status"] == "failed"]
    assert list(done["product"]) == [3.0, 6.75] and list(done["root"]) == [1.0, 1.5]
    assert list(done["label"]) == ["x=1.0", "x=2.25"]
    assert len(failed) == 2 and failed["error"].str.contains("RuntimeError: asked to fail").all()
    assert failed["product"].isna().all()
    assert lines[0] == "sweep of toy.ipynb: 4 runs, 0 already recorded, 4 to run"
    assert "2 done, 2 failed, 0 remaining" in lines[-1]
    on_disk = pd.read_csv(out / "results.csv")
    assert list(on_disk["run_id"]) == list(table["run_id"]) and list(on_disk["status"]) == list(table["status"])
    for run in table["run_id"]:
        executed = nbformat.read(str(out / "runs" / f"{run}.ipynb"), as_version=4)
        assert executed.metadata["papermill"]["input_path"] == "toy.ipynb"
        assert str(tmp_path) not in json.dumps(executed.metadata)
    reloaded = sweep.load_results(out).set_index("run_id").loc[table["run_id"]]
    assert list(reloaded["status"]) == list(table["status"]) and reloaded["product"].equals(
        table.set_index("run_id")["product"])
    before = {run: record["started"] for run, record in records(out).items()}

    # Again, keeping the failures: nothing runs.
    lines.clear()
    again = sweep.run_sweep(notebook, grid, out, fixed={"y": 3}, retry_failed=False, progress=lines.append)
    assert lines == ["sweep of toy.ipynb: 4 runs, 4 already recorded, 0 to run"]
    assert again.equals(table)
    # Again, retrying the failures (the default): only those two run.
    lines.clear()
    sweep.run_sweep(notebook, grid, out, fixed={"y": 3}, progress=lines.append)
    assert lines[0] == "sweep of toy.ipynb: 4 runs, 2 already recorded, 2 to run"
    after = {run: record["started"] for run, record in records(out).items()}
    assert {run for run in after if after[run] != before[run]} == set(failed["run_id"])


@pytest.mark.notebooks
def test_runs_made_by_other_code_of_the_notebook_are_run_again(tmp_path):
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    sweep.run_sweep(notebook, {"x": [2.0]}, out, progress=None)
    toy_notebook(tmp_path, extra_code="x = x + 1\n")  # the code changed, the parameters did not
    lines = []
    table = sweep.run_sweep(notebook, {"x": [2.0]}, out, progress=lines.append)
    assert lines[0] == "sweep of toy.ipynb: 1 runs, 0 already recorded, 1 to run (1 made by other code of the notebook)"
    assert list(table["product"]) == [6.0]


def test_a_kernel_that_fails_before_any_cell_is_started_once_more_and_a_failing_cell_is_not(monkeypatch, tmp_path):
    notebook = nbformat.read(str(toy_notebook(tmp_path)), as_version=4)
    started = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    started.cells[0].metadata["papermill"] = {"start_time": "2026-01-01T00:00:00"}
    outcomes = [("failed", "RuntimeError: Kernel died before replying to kernel_info", None, "log"),
                ("done", None, started, None),
                ("failed", "RuntimeError: asked to fail", started, "log")]
    calls = []

    def execute_once(*args):
        calls.append(args)
        return outcomes[len(calls) - 1]

    monkeypatch.setattr(sweep, "_execute_once", execute_once)
    record, _ = sweep.execute_run("", "toy.ipynb", {"x": 1.0}, str(tmp_path), None, None)
    assert len(calls) == 2 and record["status"] == "done" and "kernel_info" in record["retried_after"]
    record, _ = sweep.execute_run("", "toy.ipynb", {"x": 1.0}, str(tmp_path), None, None)
    assert len(calls) == 3 and record["status"] == "failed" and "retried_after" not in record
    assert record["kernel_log"] == "log"


def wait_for_records(out, count, process, limit=120):
    deadline = time.monotonic() + limit
    while len(list((out / "runs").glob("*.json"))) < count:
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline, "the sweep recorded no runs in time"
        time.sleep(0.1)


@pytest.mark.notebooks
def test_a_killed_local_sweep_resumes_with_no_run_duplicated_or_missing(tmp_path):
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    grid = {"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    command = [sys.executable, "-m", "helpers.sweep", str(notebook), "--param", "x", *map(str, grid["x"]),
               "--set", "pause", "1.0", "--out", str(out), "--workers", "1"]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_records(out, 2, process)
        tree = sweep_tree(process)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # as a lost terminal would: no chance to clean up
        process.wait()
    # its runs notice and stop, with their kernels
    deadline = time.monotonic() + 15
    while still_alive(tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not still_alive(tree), f"runs outlived a killed sweep: {[p.cmdline() for p in still_alive(tree)]}"
    first = records(out)
    assert 2 <= len(first) < 6
    lines = []
    table = sweep.run_sweep(notebook, grid, out, fixed={"pause": 1.0}, progress=lines.append)
    assert lines[0] == f"sweep of toy.ipynb: 6 runs, {len(first)} already recorded, {6 - len(first)} to run"
    final = records(out)
    assert sorted(final) == sorted(sweep.run_id(p) for p in sweep.grid_points(grid, {"pause": 1.0}))
    assert all(final[run]["started"] == record["started"] for run, record in first.items()), "a run was repeated"
    assert (table["status"] == "done").all(), f"runs failed on resuming: {_failures(table, out)}"
    assert list(table["product"]) == [2.0 * x for x in grid["x"]]
    assert table["run_id"].is_unique and len(table) == 6


@pytest.mark.notebooks
def test_a_sweep_on_a_dask_cluster_is_interrupted_and_resumed(tmp_path):
    distributed = pytest.importorskip("distributed")
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    grid = {"x": [1.0, 2.0, 3.0, 4.0, 5.0]}

    def stop_after_two(line):
        if line.startswith("  2 done"):
            raise KeyboardInterrupt  # as Ctrl-C would, between two runs

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with pytest.raises(KeyboardInterrupt):
            sweep.run_sweep(notebook, grid, out, fixed={"y": 4, "pause": 0.5}, scheduler=cluster.scheduler_address,
                            progress=stop_after_two)
        first = records(out)
        assert len(first) == 2
        table = sweep.run_sweep(notebook, grid, out, fixed={"y": 4, "pause": 0.5},
                                scheduler=cluster.scheduler_address, progress=None)
    final = records(out)
    assert len(final) == 5 and all(final[run]["started"] == record["started"] for run, record in first.items())
    assert (table["status"] == "done").all() and list(table["product"]) == [4.0 * x for x in grid["x"]]
    assert table["run_id"].is_unique


def test_the_command_line_reads_numbers_as_numbers():
    assert sweep._parse_value("1e-3") == 0.001 and sweep._parse_value("10") == 10
    assert isinstance(sweep._parse_value("10"), int) and sweep._parse_value("2.5") == 2.5
    assert sweep._parse_value("true") is True and sweep._parse_value("[1, 2]") == [1, 2]
    assert sweep._parse_value("abc") == "abc" and sweep._parse_value("inf") == float("inf")


def test_the_command_line_reports_a_bad_grid_and_exits_with_status_2(tmp_path, capsys):
    notebook = toy_notebook(tmp_path)
    assert sweep.main([str(notebook), "--param", "y", "-1", "--out", str(tmp_path / "sweep")]) == 2
    assert "y must be an integer >= 0, got -1" in capsys.readouterr().err
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("grid:\n  q: [1, 2]\n")
    assert sweep.main([str(notebook), "--grid", str(grid_file), "--out", str(tmp_path / "sweep")]) == 2
    assert "unknown parameter(s) ['q']" in capsys.readouterr().err
    assert sweep.main([str(notebook), "--param", "x", "1e-3", "nan", "--out", str(tmp_path / "sweep")]) == 2
    assert "x must be a finite number, got nan" in capsys.readouterr().err  # 1e-3 passed as a number
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")
    assert sweep.main([str(notebook), "--param", "x", "1", "--out", str(a_file)]) == 2
    assert f"out must be a folder for the sweep's runs/ and results.csv, but {a_file} is a file" in (
        capsys.readouterr().err)


def sweep_tree(process):
    """The sweep's process and every process under it (its runs, and the kernels they started)."""
    import psutil

    parent = psutil.Process(process.pid)
    return [parent, *parent.children(recursive=True)]


def kernels_running(process, count, limit=120):
    """Wait until ``count`` kernels run under the sweep; return the whole tree's processes."""
    deadline = time.monotonic() + limit
    while True:
        tree = sweep_tree(process)
        kernels = [p for p in tree if "ipykernel" in " ".join(p.cmdline())]
        if len(kernels) >= count:
            return tree
        assert process.poll() is None, "the sweep ended before its kernels started"
        assert time.monotonic() < deadline, "the sweep's kernels did not start in time"
        time.sleep(0.2)


def still_alive(tree):
    import psutil

    alive = []
    for member in tree:
        try:
            if member.status() != psutil.STATUS_ZOMBIE:
                alive.append(member)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.notebooks
@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_sweep_keeps_its_finished_runs_and_leaves_no_process_behind(tmp_path, signal_number, status):
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    # The first run ends quickly; the next two are still running (pause 60 s) when the signal comes.
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("grid:\n  pause: [0.0, 60.0, 61.0]\n")
    command = [sys.executable, "-m", "helpers.sweep", str(notebook), "--grid", str(grid_file), "--out", str(out),
               "--workers", "2"]
    # A terminal's foreground command starts with SIGINT at its default; a test run from a background
    # job (a shell's `cmd &`) inherits it ignored, and Python then keeps ignoring it: restore it, so
    # the test sees what a user's Ctrl-C does, however the test itself was started.
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for_records(out, 1, process)
        tree = kernels_running(process, 2)
        signalled = time.monotonic()
        # SIGINT as a terminal's Ctrl-C sends it, to the whole process group; SIGTERM to the sweep alone
        if signal_number == signal.SIGINT:
            os.killpg(process.pid, signal_number)
        else:
            process.send_signal(signal_number)
        try:  # communicate reads standard error as it comes, so a full pipe cannot hold the sweep up
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sweep did not stop in 30 s; still running: {[p.cmdline() for p in still_alive(tree)]}")
        assert process.returncode == status
        stopped_in = time.monotonic() - signalled
        deadline = time.monotonic() + 10
        while still_alive(tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not still_alive(tree), f"processes outlived the sweep: {[p.cmdline() for p in still_alive(tree)]}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert stopped_in < 20, f"the sweep took {stopped_in:.0f} s to stop"
    kept = records(out)
    assert len(kept) == 1 and next(iter(kept.values()))["status"] == "done", "the finished run is kept"
    assert "run the same sweep again to resume" in stderr


@pytest.mark.notebooks
def test_a_run_whose_process_dies_is_recorded_as_failed_and_the_others_go_on(tmp_path):
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    table = sweep.run_sweep(notebook, {"die": [False, True], "x": [1.0, 4.0]}, out, workers=2, progress=None)
    died = table[table["die"]]
    assert (died["status"] == "failed").all() and died["error"].str.contains(
        r"WorkerDied: the run's process ended without a result \(signal SIGKILL\)").all()
    assert (table[~table["die"]]["status"] == "done").all() and list(table[~table["die"]]["product"]) == [2.0, 8.0]


@pytest.mark.notebooks
def test_a_second_sweep_on_the_same_folder_stops_at_once(tmp_path):
    notebook, out = toy_notebook(tmp_path), tmp_path / "sweep"
    command = [sys.executable, "-m", "helpers.sweep", str(notebook), "--param", "x", "1", "2", "--set", "pause",
               "5", "--out", str(out), "--workers", "1"]
    first = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        kernels_running(first, 1)
        with pytest.raises(ValueError, match=r"out: another sweep \(process \d+ on .*\) is running on"):
            sweep.run_sweep(notebook, {"x": [1.0, 3.0]}, out, fixed={"pause": 5.0}, progress=None)
        assert first.wait(timeout=120) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)
    # Once the first has ended, the second runs only the point the first did not.
    lines = []
    table = sweep.run_sweep(notebook, {"x": [1, 3]}, out, fixed={"pause": 5}, progress=lines.append)
    assert lines[0] == "sweep of toy.ipynb: 2 runs, 1 already recorded, 1 to run"
    assert (table["status"] == "done").all() and not list(out.glob("**/*.partial"))
