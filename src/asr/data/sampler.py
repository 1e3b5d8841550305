"""Training's batch sampler: duration batches (`batching`), shuffled per epoch, sharded per rank,
resumable mid-epoch."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from torch.utils.data import Sampler

from asr.data.batching import duration_batches


class Draw(NamedTuple):
    """A training utterance's index and the seed of its random perturbation this epoch.

    The seed depends on the run's seed, the epoch and the index only, so an utterance is perturbed
    the same way whichever worker or rank loads it and whether or not the run was resumed.
    """

    index: int
    seed: int


def draw_seed(seed: int, epoch: int, index: int) -> int:
    return ((seed * 1_000_003 + epoch) * 10_000_019 + index) % 2**63


class DurationBatchSampler(Sampler[list[int] | list[Draw]]):
    """Lists of indices whose padded duration (longest x count) stays within `max_seconds`.

    The batches are fixed; their order is shuffled each epoch from `seed` and the epoch number,
    which Lightning passes through `set_epoch`, so a run is reproducible. Under distributed
    training every rank builds the same batches and order and takes every `num_replicas`-th
    batch from `rank`: disjoint shards, and the same number of batches on every rank (the tail is
    padded with the first batches again, or dropped with `drop_last`), so no rank waits forever
    in a collective that the others have left. With `pad=False` (evaluation) the tail is not
    padded: every utterance counted once, the ranks' shards then differ in length by one batch.

    With `draws=True` (training) batches hold `Draw`s, which carry each utterance's perturbation
    seed; `start_at` makes the next iteration begin inside an epoch, where a resumed run left off.
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
        pad: bool = True,
        draws: bool = False,
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
        self.draws = draws
        self._skip = 0
        self.num_replicas = num_replicas
        self.rank = rank
        self.batches = duration_batches(durations, max_seconds)
        if len(self.batches) < num_replicas:
            raise ValueError(f"{len(self.batches)} batches cannot be shared by {num_replicas} ranks")
        whole, rest = divmod(len(self.batches), num_replicas)
        if pad:
            self.per_rank = whole + (1 if rest and not drop_last else 0)
        else:
            self.per_rank = whole + (1 if rank < rest else 0)
        self.pad = pad

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def start_at(self, epoch: int, batches_done: int) -> None:
        """Begin the next iteration after `batches_done` of this rank's batches of `epoch` (the
        next epoch when that epoch was complete)."""
        if batches_done >= self.per_rank:
            epoch, batches_done = epoch + 1, 0
        self.epoch, self._skip = epoch, batches_done

    def __len__(self) -> int:
        return self.per_rank

    def __iter__(self) -> Iterator[list[int] | list[Draw]]:
        order = list(range(len(self.batches)))
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        if self.pad:
            order = (order * 2)[: self.per_rank * self.num_replicas]
        mine = order[self.rank :: self.num_replicas][self._skip :]
        self._skip = 0
        if not self.draws:
            return (self.batches[i] for i in mine)
        epoch = self.epoch
        return ([Draw(k, draw_seed(self.seed, epoch, k)) for k in self.batches[i]] for i in mine)
