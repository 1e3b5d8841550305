"""Corpus preparation: each corpus becomes JSON-lines manifests once, before training."""

from __future__ import annotations

from pathlib import Path

from asr.data.corpora.synthetic import SyntheticConfig, generate


def prepare(name: str, root: str | Path, **params: object) -> dict[str, Path]:
    """Prepare corpus `name` under `root`; returns the manifest path of each split."""
    if name == "synthetic":
        workers = int(params.pop("workers", 2))
        fields = {k: tuple(v) if k in ("rate", "pitch") else v for k, v in params.items()}
        return generate(SyntheticConfig(**fields), root, workers=workers)
    raise ValueError(f"unknown corpus {name!r}: the known one is 'synthetic'")
