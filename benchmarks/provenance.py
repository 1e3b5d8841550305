"""What every benchmark result records about where it came from: the commit and the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _describe() -> str:
    describe = ["git", "describe", "--always", "--dirty"]
    return subprocess.run(describe, cwd=ROOT, capture_output=True, text=True).stdout.strip()


# Read as the benchmark starts, when it imports its code: read at the end, a benchmark that ran
# for half an hour recorded whatever the checkout had become meanwhile (a later commit, or -dirty).
_STARTED_FROM = _describe()


def commit() -> str:
    """`git describe --always --dirty` of the checkout when the benchmark started: a result from
    uncommitted code says so."""
    return _STARTED_FROM


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def write_result(path: Path, command: str, **fields: object) -> Path:
    """A benchmark's result as JSON at `path`: the command that reproduces it, the commit and the
    machine, then `fields`."""
    result = {"command": command, "commit": commit(), "machine": machine(), **fields}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
