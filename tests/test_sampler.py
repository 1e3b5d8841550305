import random
from collections import Counter

import pytest

from asr.data.perturb import WavePerturbation
from asr.data.sampler import CorpusMix, Draw, DurationBatchSampler, duration_batches

DURATIONS = [random.Random(3).uniform(0.5, 15.0) for _ in range(500)]


def test_every_index_once_and_padded_duration_within_cap() -> None:
    sampler = DurationBatchSampler(DURATIONS, max_seconds=60.0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(DURATIONS)))
    assert all(max(DURATIONS[i] for i in b) * len(b) <= 60.0 for b in batches)
    assert len(batches) == len(sampler)


def test_shuffle_is_reproducible_per_epoch_and_differs_across_epochs() -> None:
    a, b = DurationBatchSampler(DURATIONS, 60.0, seed=1), DurationBatchSampler(DURATIONS, 60.0, seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert sorted(map(tuple, a)) == sorted(map(tuple, first))


def test_sorted_batches_keep_padding_small() -> None:
    batches = list(DurationBatchSampler(DURATIONS, 60.0))
    padded = sum(max(DURATIONS[i] for i in b) * len(b) for b in batches)
    assert padded / sum(DURATIONS) - 1 < 0.10


def test_utterance_longer_than_cap_is_an_error() -> None:
    with pytest.raises(ValueError, match="exceeds the batch cap"):
        DurationBatchSampler([1.0, 90.0], max_seconds=60.0)


def test_duration_batches_put_an_over_long_item_in_a_batch_of_its_own() -> None:
    assert sorted(duration_batches([1.0, 90.0, 2.0], max_seconds=10.0)) == [[0, 2], [1]]


@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_get_disjoint_shards_with_equal_batch_counts(drop_last: bool) -> None:
    world = 3
    ranks = [
        DurationBatchSampler(DURATIONS, 60.0, seed=5, num_replicas=world, rank=r, drop_last=drop_last)
        for r in range(world)
    ]
    for sampler in ranks:
        sampler.set_epoch(2)
    shards = [list(s) for s in ranks]
    assert len({len(s) for s in shards}) == 1 and all(len(s) == len(ranks[0]) for s in shards)
    total = len(DurationBatchSampler(DURATIONS, 60.0))
    seen = [tuple(b) for shard in shards for b in shard]
    if drop_last:
        assert len(set(seen)) == len(seen) == total - total % world
    else:  # every batch somewhere; only the padding repeats, fewer than `world` batches
        assert len(set(seen)) == total and len(seen) - total < world


def test_rank_outside_world_is_an_error() -> None:
    with pytest.raises(ValueError, match="rank 2"):
        DurationBatchSampler(DURATIONS, 60.0, num_replicas=2, rank=2)


def test_start_at_resumes_inside_an_epoch_and_at_the_next_one_after_a_whole_epoch() -> None:
    sampler = DurationBatchSampler(DURATIONS, 60.0, seed=4)
    sampler.set_epoch(3)
    epoch3 = list(sampler)
    sampler.set_epoch(4)
    epoch4 = list(sampler)
    sampler.start_at(3, 5)
    assert list(sampler) == epoch3[5:]
    assert list(sampler) == epoch3, "the skip applies to one iteration only"
    sampler.start_at(3, len(epoch3))
    assert list(sampler) == epoch4


def test_unpadded_shards_count_every_batch_exactly_once() -> None:
    world, total = 3, len(DurationBatchSampler(DURATIONS, 60.0))
    shards = [
        list(DurationBatchSampler(DURATIONS, 60.0, num_replicas=world, rank=r, pad=False))
        for r in range(world)
    ]
    seen = sorted(tuple(b) for shard in shards for b in shard)
    assert len(seen) == len(set(seen)) == total
    assert [len(s) for s in shards] == [
        len(DurationBatchSampler(DURATIONS, 60.0, num_replicas=world, rank=r, pad=False))
        for r in range(world)
    ]


def test_draw_seeds_depend_on_seed_epoch_and_utterance_not_on_the_rank() -> None:
    def seeds(world: int, epoch: int) -> dict[int, int]:
        out = {}
        for rank in range(world):
            sampler = DurationBatchSampler(
                DURATIONS, 60.0, seed=2, num_replicas=world, rank=rank, pad=False, draws=True
            )
            sampler.set_epoch(epoch)
            out |= {d.index: d.seed for batch in sampler for d in batch}
        return out

    one = seeds(1, epoch=0)
    assert all(isinstance(d, Draw) for d in next(iter(DurationBatchSampler(DURATIONS, 60.0, draws=True))))
    assert seeds(2, epoch=0) == one and sorted(one) == list(range(len(DURATIONS)))
    assert len(set(one.values())) == len(one)
    assert all(seeds(1, epoch=1)[i] != one[i] for i in one)


SIZES = (300, 200)  # two joined corpora: DURATIONS[:300] and DURATIONS[300:]


def mixed(weights: tuple[float, ...], **kwargs) -> DurationBatchSampler:
    return DurationBatchSampler(DURATIONS, 60.0, seed=7, draws=True, mix=CorpusMix(SIZES, weights), **kwargs)


def drawn(sampler: DurationBatchSampler, epoch: int) -> list[Draw]:
    sampler.set_epoch(epoch)
    return [d for batch in sampler for d in batch]


def test_weight_two_draws_every_utterance_twice_with_different_perturbations() -> None:
    draws = drawn(mixed((2.0, 1.0)), epoch=0)
    counts = Counter(d.index for d in draws)
    first = [counts[i] for i in range(300)]
    assert set(first) == {2}, "the corpus of weight 2 is drawn twice per epoch (batch padding aside)"
    assert {counts[i] for i in range(300, 500)} <= {1, 2} and sum(
        counts[i] == 1 for i in range(300, 500)
    ) > 150
    seeds = {}
    for d in draws:
        seeds.setdefault(d.index, set()).add(d.seed)
    assert all(len(seeds[i]) == 2 for i in range(300))


def test_a_fractional_weight_draws_a_new_stretch_each_epoch_and_the_whole_corpus_every_two() -> None:
    sampler = mixed((1.0, 0.5))
    epochs = [{d.index for d in drawn(sampler, e) if d.index >= 300} for e in range(4)]
    assert all(len(seen) == 100 for seen in epochs)
    assert epochs[0] != epochs[1]
    assert epochs[0] | epochs[1] == epochs[2] | epochs[3] == set(range(300, 500))
    assert all(set(range(300)) <= {d.index for d in drawn(sampler, e)} for e in range(3))


def test_every_epoch_of_a_mix_has_the_first_epochs_batch_count_and_respects_the_cap() -> None:
    sampler = mixed((1.0, 0.37))
    for epoch in range(5):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert all(max(DURATIONS[d.index] for d in b) * len(b) <= 60.0 for b in batches)


def test_a_mixed_epoch_resumes_where_it_left_off() -> None:
    sampler = mixed((1.0, 0.5))
    epoch2 = drawn(sampler, epoch=2)
    sampler.start_at(2, 4)
    resumed = [d for batch in sampler for d in batch]
    assert resumed == epoch2[len(epoch2) - len(resumed) :] and len(resumed) < len(epoch2)


@pytest.mark.parametrize(
    ("sizes", "weights", "message"),
    [
        ((300, 200), (1.0,), "one weight per entry of data.train_manifest"),
        ((300, 200), (1.0, -1.0), "must be >= 0"),
        ((300, 200), (0.0, 0.0), "draw at least one utterance"),
    ],
)
def test_bad_weights_are_refused_naming_the_setting(sizes, weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        CorpusMix(sizes, weights)


def _perturbed(sampler: DurationBatchSampler, perturb: WavePerturbation, epoch: int) -> list[list[float]]:
    """Each batch's lengths once perturbed as its worker will perturb it."""
    sampler.set_epoch(epoch)
    return [[perturb.seconds(DURATIONS[d.index], d.seed, 16000) for d in batch] for batch in sampler]


def test_batches_cut_by_perturbed_length_keep_the_perturbed_padding_within_the_cap() -> None:
    perturb = WavePerturbation(speed_perturb=[0.9, 1.0, 1.1, 1.2], silence_pad=0.25)
    by_recording = DurationBatchSampler(DURATIONS, 60.0, seed=5, draws=True)
    by_perturbed = DurationBatchSampler(
        DURATIONS, 60.0, seed=5, draws=True, lengths=lambda s, seed: perturb.seconds(s, seed, 16000)
    )
    for epoch in range(3):
        recorded = _perturbed(by_recording, perturb, epoch)
        perturbed = _perturbed(by_perturbed, perturb, epoch)
        assert all(max(b) * len(b) <= 60.0 for b in perturbed)
        assert len(perturbed) == len(by_perturbed)
        padding = sum(max(b) * len(b) - sum(b) for b in perturbed) / sum(map(sum, perturbed))
        assert padding < 0.02 < sum(max(b) * len(b) - sum(b) for b in recorded) / sum(map(sum, recorded))


def test_perturbed_batches_change_with_the_epoch_and_resume_where_they_left_off() -> None:
    perturb = WavePerturbation(speed_perturb=[0.9, 1.1], silence_pad=0.25)
    sampler = DurationBatchSampler(
        DURATIONS, 60.0, seed=5, draws=True, lengths=lambda s, seed: perturb.seconds(s, seed, 16000)
    )
    assert sorted(map(sorted, sampler._epoch_batches(1))) != sorted(map(sorted, sampler._epoch_batches(2)))
    epoch2 = drawn(sampler, epoch=2)
    sampler.start_at(2, 4)
    resumed = [d for batch in sampler for d in batch]
    assert resumed == epoch2[len(epoch2) - len(resumed) :] and len(resumed) < len(epoch2)


def test_perturbed_lengths_without_draws_are_refused() -> None:
    with pytest.raises(ValueError, match="need draws"):
        DurationBatchSampler(DURATIONS, 60.0, lengths=lambda s, seed: s)
