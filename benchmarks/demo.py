"""Time `make demo` from a fresh clone and record its held-out WER/CER, greedy and beam + LM.

    python benchmarks/demo.py

Clones this repository's HEAD into a temporary folder and runs `make demo` there, so the wall
time includes creating the virtual environment, installing, generating the corpus, training,
transcribing and scoring. Writes benchmarks/results/demo.json (greedy and beam error rates, the beam
search's decoding time, the training time alone, the LM weight and word score training tuned on
validation) and prints a Markdown table row.
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


def make_demo(tmp: Path) -> tuple[Path, str, float]:
    """Clone HEAD into `tmp/clone` and run `make demo` there: the clone, its commit, the wall time."""
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    start = time.monotonic()
    subprocess.run(["make", "demo"], cwd=clone, check=True, env={**os.environ, "PIP_NO_INPUT": "1"})
    return clone, commit, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "demo.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clone, commit, wall = make_demo(Path(tmp))
        report = json.loads((clone / "runs" / "demo" / "test_report.json").read_text())
        summary = json.loads((clone / "runs" / "demo" / "fit_summary.json").read_text())
    result = {
        "command": "make demo",
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "wall_seconds": round(wall, 1),
        "fit_seconds": summary["fit_seconds"],
        "precision": summary["precision"],
        "test_utterances": report["utterances"],
        "test_audio_seconds": report["audio_seconds"],
        **{f"{name}_{k}": report[name][k] for name in ("greedy", "beam") for k in ("wer", "cer")},
        "beam_decode_seconds": report["beam"]["decode_seconds"],
        "beam_settings": report["beam"]["settings"],
        "tuned_on_validation": summary["decoder"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rates = " | ".join(
        f"{100 * result[k]:.2f}%" for k in ("greedy_wer", "beam_wer", "greedy_cer", "beam_cer")
    )
    print(f"| `make demo` | {wall / 60:.1f} min | {rates} | {report['utterances']} | {commit[:8]} |")


if __name__ == "__main__":
    main()
