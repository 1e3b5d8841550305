"""Training's batch sampler: duration batches (`batching`), shuffled per epoch, sharded per rank,
resumable mid-epoch; corpora mixed by sampling weight when training joins several."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import cycle, islice
from typing import NamedTuple

from torch.utils.data import Sampler

from asr.data.batching import duration_batches


class Draw(NamedTuple):
    """A training utterance's index and the seed of its random perturbation this epoch.

    The seed depends on the run's seed, the epoch and the index only (and which copy, where a
    sampling weight repeats a corpus), so an utterance is perturbed the same way whichever worker
    or rank loads it and whether or not the run was resumed.
    """

    index: int
    seed: int


def draw_seed(seed: int, epoch: int, index: int) -> int:
    return ((seed * 1_000_003 + epoch) * 10_000_019 + index) % 2**63


@dataclass(frozen=True)
class CorpusMix:
    """How many utterances of each joined corpus an epoch draws: `sizes[i]` rows (consecutive in
    the dataset, in manifest order) at sampling weight `weights[i]`, i.e. round(weight x size) of
    them per epoch. A whole part of the weight repeats the corpus that often; the fractional part
    walks on through shuffled passes over the corpus, a new stretch each epoch, so a corpus
    weighted 0.5 is seen whole, once, every two epochs."""

    sizes: tuple[int, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.weights):
            raise ValueError(
                f"{len(self.weights)} sampling weights for {len(self.sizes)} training manifests: "
                "give data.train_weights one weight per entry of data.train_manifest"
            )
        drawn = sum(round(w * n) for w, n in zip(self.weights, self.sizes, strict=True))
        if min(self.weights, default=0) < 0 or drawn == 0:
            raise ValueError(
                f"data.train_weights {list(self.weights)} must be >= 0 and draw at least one utterance"
            )

    def draw(self, seed: int, epoch: int) -> list[tuple[int, int]]:
        """The epoch's (dataset index, copy number) pairs, from the seed and epoch alone."""
        chosen: list[tuple[int, int]] = []
        start = 0
        for corpus, (size, weight) in enumerate(zip(self.sizes, self.weights, strict=True)):
            whole, rest = divmod(round(weight * size), size) if size else (0, 0)
            chosen += [(start + i, copy) for copy in range(whole) for i in range(size)]
            chosen += [
                (start + i, whole) for i in sorted(_stretch(f"{seed}-{corpus}", size, epoch * rest, rest))
            ]
            start += size
        return chosen


def _stretch(key: str, size: int, offset: int, count: int) -> list[int]:
    """Items `offset` to `offset + count` of an endless stream of shuffled passes over `size` items
    (each pass shuffled from `key` and its number): consecutive epochs walk on through the pass,
    so every item comes before any comes again."""
    out: list[int] = []
    while len(out) < count:
        lap, at = divmod(offset + len(out), size)
        order = list(range(size))
        random.Random(f"{key}-{lap}").shuffle(order)
        out += order[at : at + count - len(out)]
    return out


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

    With `lengths` (training with speed perturbation or silence padding: the seconds a draw will
    last once perturbed, from its recorded seconds and its seed) each epoch's batches are cut by
    those lengths instead of the recorded ones, so a batch holds waveforms of similar length
    after perturbation too, and its padded seconds keep within `max_seconds`.

    With a `mix` (joined corpora, training) each epoch batches its own draw of utterances. With a
    mix or `lengths`, an epoch is always as many batches as the first one (Lightning fixes an
    epoch's length when it starts training): a later draw that packs into more batches leaves the
    surplus out (its batches are shuffled, so chance decides which), one that packs into fewer
    repeats its first batches.
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
        mix: CorpusMix | None = None,
        lengths: Callable[[float, int], float] | None = None,
    ) -> None:
        if mix is not None and sum(mix.sizes) != len(durations):
            raise ValueError(
                f"the corpus mix counts {sum(mix.sizes)} utterances, the dataset {len(durations)}"
            )
        longest = max(durations)
        if longest > max_seconds:
            raise ValueError(
                f"an utterance of {longest:.1f} s exceeds the batch cap of {max_seconds} s: "
                "raise the cap or drop utterances that long"
            )
        if lengths is not None and not draws:
            raise ValueError("perturbed lengths need draws: only training perturbs its utterances")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside 0..{num_replicas - 1}")
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.draws = draws
        self._skip = 0
        self.num_replicas = num_replicas
        self.rank = rank
        self.durations = durations
        self.max_seconds = max_seconds
        self.mix = mix
        self.lengths = lengths
        self.batches = self._epoch_batches(0)
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

    def _epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        """The epoch's batches of (index, copy) pairs: every utterance once without a mix."""
        chosen = (
            [(i, 0) for i in range(len(self.durations))]
            if self.mix is None
            else self.mix.draw(self.seed, epoch)
        )
        size = len(self.durations)
        seconds = [self.durations[i] for i, _ in chosen]
        if self.lengths is not None:
            seconds = [
                self.lengths(s, draw_seed(self.seed, epoch, i + copy * size))
                for s, (i, copy) in zip(seconds, chosen, strict=True)
            ]
        batches = duration_batches(seconds, self.max_seconds)
        return [[chosen[k] for k in batch] for batch in batches]

    def __iter__(self) -> Iterator[list[int] | list[Draw]]:
        epoch = self.epoch
        fixed = self.mix is None and self.lengths is None
        batches = self.batches if fixed else self._epoch_batches(epoch)
        order = list(range(len(batches)))
        if self.shuffle:
            random.Random(self.seed + epoch).shuffle(order)
        if self.pad:
            order = list(islice(cycle(order), self.per_rank * self.num_replicas))
        mine = order[self.rank :: self.num_replicas][self._skip : self.per_rank]
        self._skip = 0
        if not self.draws:
            return ([i for i, _ in batches[b]] for b in mine)
        size = len(self.durations)
        return (
            [Draw(i, draw_seed(self.seed, epoch, i + copy * size)) for i, copy in batches[b]] for b in mine
        )
