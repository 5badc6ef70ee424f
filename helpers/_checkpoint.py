"""Checkpoints of long runs: arrays saved as they go, recognised by a key of their inputs, and
append-only logs of finished work (one CSV row per piece)."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def load(path, key: str, made_from: str) -> dict | None:
    """The arrays saved at ``path`` under ``key``; None when there is no file yet.

    A file saved under another key stops the run: it was ``made_from`` other inputs, and resuming
    from it would mix two runs.
    """
    if path is None or not Path(path).is_file():
        return None
    with np.load(path) as saved:
        if str(saved["key"]) != key:
            raise ValueError(
                f"checkpoint {Path(path).name} was made from other {made_from}; delete it or name another checkpoint"
            )
        return {name: saved[name] for name in saved.files}


def save(path, **arrays) -> None:
    """Write the checkpoint to a temporary file and move it into place: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, path)


# --- append-only logs: one CSV row per finished piece of work ----------------------------------


def read_log(path, columns: list[str], dtype: dict | None = None) -> pd.DataFrame | None:
    """The finished rows of an append-only CSV log; None when there is no log yet.

    A row counts once its line ends: a last line cut short (a full disk, a lost machine) is
    dropped, with a warning, and cut from the file, so that the next row is not appended onto it
    and the work it stood for is done again. Any other malformed line stops the run, naming it.
    """
    if path is None or not Path(path).is_file():
        return None
    path = Path(path)
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        complete = raw.rfind(b"\n") + 1
        line = raw.count(b"\n") + 1
        warnings.warn(
            f"checkpoint {path.name}: its last line ({line}) was cut short; it is dropped "
            "and its work will be done again",
            stacklevel=3,
        )
        with open(path, "r+b") as file:
            file.truncate(complete)
        raw = raw[:complete]
    if not raw:
        return None
    try:
        table = pd.read_csv(io.BytesIO(raw), dtype=dtype)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"checkpoint {path.name} is malformed ({error}); delete it to start again") from None
    if list(table.columns) != list(columns):
        raise ValueError(f"checkpoint {path.name} is not this kind of log (columns {', '.join(columns)})")
    return table


def append_to_log(path, row: dict) -> None:
    """Add one row to the log, with the header when the log is new (or was only a torn header)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file() or path.stat().st_size == 0
    text = pd.DataFrame([row]).to_csv(index=False, header=new)
    with open(path, "a") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
