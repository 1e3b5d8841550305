"""Batches by total audio duration: what training's sampler and inference both cut batches with.

Sorting before batching keeps padding small (a batch holds utterances of similar length), and a
duration cap instead of a fixed batch size keeps memory flat whether utterances are short or long.
"""

from __future__ import annotations

from collections.abc import Sequence


def duration_batches(durations: Sequence[float], max_seconds: float) -> list[list[int]]:
    """Indices sorted by duration, cut into batches whose longest x count stays within `max_seconds`.

    An item longer than the cap on its own forms a batch of one.
    """
    batches: list[list[int]] = []
    batch: list[int] = []
    for index in sorted(range(len(durations)), key=durations.__getitem__):
        if batch and durations[index] * (len(batch) + 1) > max_seconds:
            batches.append(batch)
            batch = []
        batch.append(index)
    if batch:
        batches.append(batch)
    return batches
