"""Checkpoints of long runs: arrays saved as they go, recognised by a key of their inputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


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
