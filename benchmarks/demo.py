"""Time `make demo` from a fresh clone and record its held-out WER/CER.

    python benchmarks/demo.py [--keep-venv]

Clones this repository's HEAD into a temporary folder and runs `make demo` there, so the wall
time includes creating the virtual environment, installing, generating the corpus, training,
scoring and transcribing. Writes benchmarks/results/demo.json and prints a Markdown table row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "demo.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
        ).stdout.strip()
        start = time.monotonic()
        subprocess.run(["make", "demo"], cwd=clone, check=True, env={**os.environ, "PIP_NO_INPUT": "1"})
        wall = time.monotonic() - start
        report = json.loads((clone / "runs" / "demo" / "test_report.json").read_text())
    result = {
        "command": "make demo",
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "wall_seconds": round(wall, 1),
        "test_utterances": report["utterances"],
        "wer": report["wer"],
        "cer": report["cer"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"| `make demo` | {wall / 60:.1f} min | {100 * report['wer']:.2f}% | {100 * report['cer']:.2f}% "
        f"| {report['utterances']} | {result['machine']} | {commit[:8]} |"
    )


if __name__ == "__main__":
    main()
