"""What every benchmark result records about where it came from: the commit and the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def commit() -> str:
    """`git describe --always --dirty` of the checkout: a result from uncommitted code says so."""
    describe = ["git", "describe", "--always", "--dirty"]
    return subprocess.run(describe, cwd=ROOT, capture_output=True, text=True).stdout.strip()


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def write_result(path: Path, command: str, **fields: object) -> Path:
    """A benchmark's result as JSON at `path`: the command that reproduces it, the commit and the
    machine, then `fields`."""
    result = {"command": command, "commit": commit(), "machine": machine(), **fields}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
