"""How the training loader is sized (workers, prefetching and pinned memory per device) and what
it draws each epoch."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from asr.data.datamodule import SpeechDataModule, SpeechDataset, loader_workers
from asr.data.perturb import WavePerturbation
from asr.data.sampler import Draw
from asr.text import CharTokenizer
from asr.training import train


def test_auto_workers_none_on_the_cpu_and_a_share_of_the_cores_per_gpu(monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert loader_workers("auto", torch.device("cpu"), 1) == 0
    assert loader_workers("auto", torch.device("cuda"), 1) == 8
    assert loader_workers("auto", torch.device("cuda"), 4) == 3
    assert loader_workers("auto", torch.device("cuda"), 16) == 1
    assert loader_workers(5, torch.device("cpu"), 1) == 5


@pytest.mark.parametrize("setting", ["many", -1, 2.5])
def test_num_workers_neither_a_count_nor_auto_is_refused(setting) -> None:
    with pytest.raises(ValueError, match=r"data\.num_workers must be a number of processes or auto"):
        SpeechDataModule("t.jsonl", "v.jsonl", "e.jsonl", CharTokenizer(), num_workers=setting)


def test_cpu_loader_pins_no_memory_and_workers_prefetch(tiny_corpus) -> None:
    data = SpeechDataModule(
        str(tiny_corpus["train"]),
        str(tiny_corpus["val"]),
        str(tiny_corpus["test"]),
        CharTokenizer(),
        num_workers=1,
        prefetch_factor=3,
    )
    data.setup("fit")
    loader = data.train_dataloader()
    assert (loader.num_workers, loader.prefetch_factor, loader.pin_memory) == (1, 3, False)
    assert loader.persistent_workers
    assert len(next(iter(loader)).paths) > 0


def test_joined_training_manifests_are_drawn_by_their_weights(tiny_corpus) -> None:
    train, val = str(tiny_corpus["train"]), str(tiny_corpus["val"])
    data = SpeechDataModule([train, val], val, val, CharTokenizer(), train_weights=[2, 0.5])
    data.setup("fit")
    sizes = data.train_sizes
    rows = data.datasets["train"].utterances
    drawn = [d.index for batch in data.train_dataloader().batch_sampler for d in batch]
    assert all(drawn.count(i) >= 2 for i in range(sizes[0]))
    assert sum(i >= sizes[0] for i in set(drawn)) == round(0.5 * sizes[1])
    expected = 2 * sum(u.duration for u in rows[: sizes[0]]) + 0.5 * sum(u.duration for u in rows[sizes[0] :])
    assert data.epoch_audio_seconds() == pytest.approx(expected)


def test_training_batches_stay_within_the_cap_once_perturbed(tiny_corpus) -> None:
    """The padded batch the model receives, after speed perturbation and silence padding, is what
    `batch_seconds` caps; validation (unperturbed) is cut by the recordings as before."""
    perturb = WavePerturbation(speed_perturb=[0.9, 1.0, 1.1], silence_pad=0.25)
    splits = [str(tiny_corpus[split]) for split in ("train", "val", "test")]
    data = SpeechDataModule(*splits, CharTokenizer(), batch_seconds=6.0, perturb=perturb, seed=3)
    data.setup("fit")
    loader = data.train_dataloader()
    for epoch in range(3):
        loader.batch_sampler.set_epoch(epoch)
        sizes = [batch.waves.numel() for batch in loader]
        assert len(sizes) == len(loader.batch_sampler) and max(sizes) <= 6.0 * 16000 + 2 * len(sizes)
    assert loader.batch_sampler.lengths is not None and data.val_dataloader().batch_sampler.lengths is None


def test_weights_not_one_per_training_manifest_are_refused() -> None:
    with pytest.raises(ValueError, match=r"data\.train_weights has 1 weights for 2 training manifests"):
        SpeechDataModule(["a.jsonl", "b.jsonl"], "v.jsonl", "e.jsonl", CharTokenizer(), train_weights=[1.0])


def test_training_shuffles_and_perturbs_each_epoch_anew(tiny_corpus, tmp_path, monkeypatch) -> None:
    """Through `train`, as Lightning runs it: each epoch's batch order and perturbation seeds are
    its own (Lightning never tells a batch sampler the epoch by itself)."""
    draws: list[Draw] = []
    getitem = SpeechDataset.__getitem__

    def spy(self, key):
        if isinstance(key, Draw):
            draws.append(key)
        return getitem(self, key)

    monkeypatch.setattr(SpeechDataset, "__getitem__", spy)
    overrides = [f"paths.root={tmp_path}", f"paths.output_dir={tmp_path / 'run'}", "data=manifest"]
    overrides += [f"data.{split}_manifest={tiny_corpus[split]}" for split in ("train", "val", "test")]
    overrides += ["data.batch_seconds=8", "data.num_workers=0", "data.speed_perturb=[0.9,1.0,1.1]"]
    overrides += ["model.hidden_size=16", "model.num_layers=1", "keep_epoch_checkpoints=0", "decoder=greedy"]
    overrides += ["trainer.max_epochs=3", "+trainer.enable_progress_bar=false"]
    with initialize_config_dir(str(Path(__file__).resolve().parents[1] / "conf"), version_base="1.3"):
        train(compose("train", overrides))
    size = len(draws) // 3
    epochs = [draws[i * size : (i + 1) * size] for i in range(3)]
    assert size > 0 and len(draws) == 3 * size
    orders = [[d.index for d in epoch] for epoch in epochs]
    assert orders[0] != orders[1] != orders[2] and sorted(orders[0]) == sorted(orders[1])
    seeds = [{d.seed for d in epoch} for epoch in epochs]
    assert not (seeds[0] & seeds[1]) and not (seeds[1] & seeds[2])
