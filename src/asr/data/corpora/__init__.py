"""Corpus preparation: each corpus becomes JSON-lines manifests once, before training."""

from __future__ import annotations

from pathlib import Path

from asr.data.corpora.fsdd import import_fsdd
from asr.data.corpora.librispeech import import_librispeech
from asr.data.corpora.synthetic import SyntheticConfig, generate


def prepare(name: str, root: str | Path, manifest_dir: str | Path, **params: object) -> dict[str, Path]:
    """Prepare corpus `name` from (or, if generated, into) `root`, with its manifests in `manifest_dir`.

    Returns each split's manifest path.
    """
    if name == "synthetic":
        workers = int(params.pop("workers", 2))
        return generate(SyntheticConfig(**params), root, manifest_dir, workers=workers)
    if name == "fsdd":
        return import_fsdd(root, manifest_dir, **params)
    if name == "librispeech":
        return import_librispeech(root, manifest_dir, **params)
    raise ValueError(f"unknown corpus {name!r}: the known ones are 'synthetic', 'fsdd' and 'librispeech'")
