"""Bad input met during training: skipped and counted, or a clear error naming the file."""

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.data.audio import AudioError
from asr.data.datamodule import SpeechDataModule, SpeechDataset, check_ctc_lengths, collate
from asr.data.manifest import ManifestError, OnError, Utterance, write_manifest
from asr.module import SpeechRecognizer
from asr.text import CharTokenizer

TOK = CharTokenizer()


def _utterance(path: Path, text: str = "call mom", seconds: float = 0.5, value: float = 0.1) -> Utterance:
    sf.write(str(path), np.full(int(16000 * seconds), value, dtype=np.float32), 16000, subtype="FLOAT")
    return Utterance(path, seconds, text)


def test_file_gone_mid_epoch_is_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [_utterance(tmp_path / "a.wav"), _utterance(tmp_path / "b.wav")]
    (tmp_path / "b.wav").unlink()
    dataset = SpeechDataset(rows, TOK, 16000, on_error=OnError.SKIP)
    with caplog.at_level(logging.WARNING):
        batch = collate([dataset[0], dataset[1]])
    assert batch.paths == [str(tmp_path / "a.wav")] and batch.skipped == 1
    assert batch.waves.shape == (1, 8000)
    assert "b.wav" in caplog.text
    assert collate([dataset[1]]).paths == []


def test_file_gone_mid_epoch_fails_naming_it_and_the_switch(tmp_path: Path) -> None:
    rows = [_utterance(tmp_path / "a.wav")]
    (tmp_path / "a.wav").unlink()
    with pytest.raises(AudioError, match=r"a\.wav.*on_error=skip"):
        SpeechDataset(rows, TOK, 16000)[0]


def test_transcript_too_long_for_ctc_frames(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fits = Utterance(tmp_path / "ok.wav", 1.0, "call mom")  # 8 characters + 1 repeat in 33 frames
    too_long = Utterance(
        tmp_path / "long.wav", 0.2, "remind me to call the bank"
    )  # 26 chars + 1 repeat, 6 frames
    with pytest.raises(ManifestError, match=r"long\.wav: transcript needs 27 CTC frames, audio gives 6"):
        check_ctc_lengths([fits, too_long], 100 / 3, OnError.RAISE)
    with caplog.at_level(logging.WARNING):
        assert check_ctc_lengths([fits, too_long], 100 / 3, OnError.SKIP) == [fits]
    assert "skipped 1 of 2" in caplog.text


def test_repeated_characters_need_a_blank_between_them() -> None:
    assert check_ctc_lengths([Utterance(Path("x.wav"), 0.3, "aaa")], 10, OnError.SKIP) == []
    assert len(check_ctc_lengths([Utterance(Path("x.wav"), 0.5, "aaa")], 10, OnError.SKIP)) == 1


def test_ctc_length_check_uses_the_fastest_speed_perturbation() -> None:
    """1.0 s of "call mom" (9 frames needed) at 10 frames/s fits as recorded, not at speed 1.2."""
    row = Utterance(Path("x.wav"), 1.0, "call mom")
    assert check_ctc_lengths([row], 10, OnError.SKIP) == [row]
    with pytest.raises(
        ManifestError, match=r"x\.wav: transcript needs 9 CTC frames, audio gives 8 at speed 1\.2"
    ):
        check_ctc_lengths([row], 10, OnError.RAISE, fastest=1.2)


@pytest.mark.parametrize("on_error", list(OnError))
def test_utterance_perturbed_past_its_alignment_is_bad_input_not_a_silent_zero(
    tmp_path: Path, on_error: OnError
) -> None:
    """The model's 30 ms frames: 0.2 s gives 6, too few for "call mom"; CTCLoss(zero_infinity)
    would have returned 0 for it and trained on nothing."""
    rows = [_utterance(tmp_path / "fine.wav", seconds=1.0), _utterance(tmp_path / "short.wav", seconds=0.2)]
    batch = collate([SpeechDataset(rows, TOK, 16000)[i] for i in range(2)])
    module = SpeechRecognizer(TOK.to_dict(), {}, {"hidden_size": 16, "num_layers": 1}, on_error=on_error)
    module.eval()
    if on_error is OnError.RAISE:
        with pytest.raises(ValueError, match=r"short\.wav.*on_error=skip"):
            module.training_step(batch, 0)
        return
    with pytest.warns(UserWarning, match=r"short\.wav$"):
        loss = module.training_step(batch, 0)
    alone = module.training_step(collate([SpeechDataset(rows[:1], TOK, 16000)[0]]), 0)
    assert loss.item() == pytest.approx(alone.item()) and loss.item() > 0


@pytest.mark.parametrize("on_error", list(OnError))
def test_non_finite_loss(tmp_path: Path, on_error: OnError) -> None:
    rows = [_utterance(tmp_path / "fine.wav"), _utterance(tmp_path / "nan.wav", value=float("nan"))]
    batch = collate([SpeechDataset(rows, TOK, 16000)[i] for i in range(2)])
    module = SpeechRecognizer(TOK.to_dict(), {}, {"hidden_size": 16, "num_layers": 1}, on_error=on_error)
    if on_error is OnError.RAISE:
        with pytest.raises(FloatingPointError, match=r"nan\.wav.*on_error=skip"):
            module.training_step(batch, 0)
    else:
        assert module.training_step(batch, 0) is None
        good = collate([SpeechDataset(rows[:1], TOK, 16000)[0]])
        assert torch.isfinite(module.training_step(good, 0))


def test_check_audio_off_trusts_headers_to_the_workers(tmp_path: Path) -> None:
    good = _utterance(tmp_path / "good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wave file")
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, [good, Utterance(tmp_path / "corrupt.wav", 0.5, "hi")])
    strict = SpeechDataModule(str(manifest), str(manifest), str(manifest), TOK, on_error=OnError.SKIP)
    strict.setup("validate")
    assert len(strict.datasets["val"]) == 1  # the header check dropped the corrupt file
    trusting = SpeechDataModule(
        str(manifest), str(manifest), str(manifest), TOK, on_error=OnError.SKIP, check_audio=False
    )
    trusting.setup("validate")
    dataset = trusting.datasets["val"]
    assert len(dataset) == 2 and collate([dataset[0], dataset[1]]).skipped == 1  # caught when loaded instead
