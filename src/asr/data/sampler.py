"""Training's batch sampler: duration batches (`batching`), shuffled per epoch, sharded per rank."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler

from asr.data.batching import duration_batches


class DurationBatchSampler(Sampler[list[int]]):
    """Lists of indices whose padded duration (longest x count) stays within `max_seconds`.

    The batches are fixed; their order is shuffled each epoch from `seed` and the epoch number,
    which Lightning passes through `set_epoch`, so a run is reproducible. Under distributed
    training every rank builds the same batches and order and takes every `num_replicas`-th
    batch from `rank`: disjoint shards, and the same number of batches on every rank (the tail is
    padded with the first batches again, or dropped with `drop_last`), so no rank waits forever
    in a collective that the others have left.
    """

    def __init__(
        self,
        durations: Sequence[float],
        max_seconds: float,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        drop_last: bool = False,
    ) -> None:
        longest = max(durations)
        if longest > max_seconds:
            raise ValueError(
                f"an utterance of {longest:.1f} s exceeds the batch cap of {max_seconds} s: "
                "raise the cap or drop utterances that long"
            )
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside 0..{num_replicas - 1}")
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.num_replicas = num_replicas
        self.rank = rank
        self.batches = duration_batches(durations, max_seconds)
        if len(self.batches) < num_replicas:
            raise ValueError(f"{len(self.batches)} batches cannot be shared by {num_replicas} ranks")
        whole, rest = divmod(len(self.batches), num_replicas)
        self.per_rank = whole + (1 if rest and not drop_last else 0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.per_rank

    def __iter__(self) -> Iterator[list[int]]:
        order = list(range(len(self.batches)))
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        order = (order * 2)[: self.per_rank * self.num_replicas]
        return (self.batches[i] for i in order[self.rank :: self.num_replicas])
