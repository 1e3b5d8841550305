"""LibriSpeech: the standard extracted layout to one manifest per split.

`LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac` with one
`<speaker>-<chapter>.trans.txt` per chapter ("<utt-id> TRANSCRIPT" per line). Durations come
from the FLAC headers, not from decoding, chapters are read in parallel, and each split's
manifest is written atomically and skipped when it already exists, so an interrupted import of
the 960 hours resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import soundfile as sf

from asr.data.manifest import Utterance, write_manifest

log = logging.getLogger(__name__)

MIRROR = "https://www.openslr.org/resources/12"
SPLITS = (
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
)


def _chapter(transcript: Path) -> list[Utterance]:
    rows = []
    for number, line in enumerate(transcript.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        uid, _, text = line.partition(" ")
        audio = transcript.parent / f"{uid}.flac"
        if not audio.is_file():
            raise FileNotFoundError(f"{transcript}:{number}: {audio} is missing: re-extract the archive")
        reader = uid.split("-")[0]
        rows.append(Utterance(audio.resolve(), sf.info(str(audio)).duration, text.lower(), speaker=reader))
    return rows


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_librispeech(
    root: str | Path, splits: list[str] | tuple[str, ...] = SPLITS, mirror: str = MIRROR
) -> None:
    """Fetch, verify and extract each split's archive into `root`, unless already extracted.

    Archives are checked against the `md5sum.txt` the mirror publishes beside them; a mismatch is
    an error naming the archive, which is left in place for inspection.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(f"{mirror}/md5sum.txt") as response:
        sums = {
            name: md5
            for md5, name in (line.split() for line in response.read().decode().splitlines() if line)
        }
    for split in splits:
        if (root / "LibriSpeech" / split).is_dir():
            continue
        name = f"{split}.tar.gz"
        if name not in sums:
            raise ValueError(f"{mirror}/md5sum.txt lists no {name}: check the split's name")
        archive = root / name
        if not archive.is_file() or _md5(archive) != sums[name]:
            log.info("downloading %s/%s", mirror, name)
            partial = archive.with_suffix(".partial")
            with urllib.request.urlopen(f"{mirror}/{name}") as response, partial.open("wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            partial.replace(archive)
            if _md5(archive) != sums[name]:
                raise RuntimeError(
                    f"{archive} does not match its published MD5 {sums[name]}: delete it and retry"
                )
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        archive.unlink()


def import_librispeech(
    root: str | Path,
    manifest_dir: str | Path,
    splits: list[str] | tuple[str, ...] = SPLITS,
    workers: int = 8,
    download: bool = False,
    mirror: str = MIRROR,
) -> dict[str, Path]:
    """Write `<split>.jsonl` in `manifest_dir` for each split under `root` (or `root/LibriSpeech`),
    first fetching the archives of splits not yet extracted if `download`."""
    root = Path(root)
    if download:
        download_librispeech(root, splits, mirror)
    base = root / "LibriSpeech" if (root / "LibriSpeech").is_dir() else root
    manifest_dir = Path(manifest_dir)
    manifests = {}
    for split in splits:
        out = manifests[split] = manifest_dir / f"{split}.jsonl"
        if out.is_file():
            continue
        folder = base / split
        transcripts = sorted(folder.glob("*/*/*.trans.txt"))
        if not transcripts:
            raise FileNotFoundError(
                f"no LibriSpeech transcripts under {folder}: extract {split}.tar.gz into {root} "
                "or leave the split out of data.corpus.splits"
            )
        with ThreadPoolExecutor(workers) as pool:
            rows = [row for chapter in pool.map(_chapter, transcripts) for row in chapter]
        partial = out.with_suffix(".partial")
        write_manifest(partial, rows)
        partial.replace(out)
        log.info("%s: %d utterances, %.1f hours", split, len(rows), sum(r.duration for r in rows) / 3600)
    return manifests
