"""Ensembles (`ckpt=[a,b]`): the members' CTC posteriors averaged frame by frame, each member
with its own features and speaker means, refused where frames or spellings would not line up."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.decoder_config import DecoderConfig
from asr.ensemble import EnsembleError, mean_log_probs
from asr.evaluation import evaluate
from asr.inference import Transcriber
from tests.conftest import save_untrained_checkpoint


def _pair(folder: Path, name: str = "") -> tuple[Path, Path]:
    """Two untrained members with different weights: folder/a.ckpt and b.ckpt, or with `name`
    folder/a/NAME and folder/b/NAME (each its own run folder)."""
    return tuple(
        save_untrained_checkpoint(folder / member / name if name else folder / f"{member}.ckpt", seed)
        for seed, member in enumerate("ab")
    )


def _waves() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (8000, 12000, 5000)]


def test_mean_log_probs_is_the_log_of_the_mean_posterior() -> None:
    rng = np.random.default_rng(1)
    members = [np.log(rng.dirichlet(np.ones(5), size=7)).astype(np.float32) for _ in range(3)]
    fused = mean_log_probs(members)
    expected = np.log(np.mean([np.exp(m) for m in members], axis=0))
    np.testing.assert_allclose(fused, expected, atol=1e-6)
    np.testing.assert_allclose(np.exp(fused).sum(-1), 1.0, atol=1e-5)
    # Far in the tail, where exp underflows in float32, the mean is still exact.
    np.testing.assert_allclose(
        mean_log_probs([np.full(2, -200.0), np.full(2, -202.0)]),
        -200.0 + np.log((1 + np.exp(-2.0)) / 2),
        rtol=1e-6,
    )


def test_an_ensemble_gives_the_mean_of_its_members_posteriors(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    waves = _waves()
    one = Transcriber.from_checkpoint(a, device="cpu").log_probs(waves)
    two = Transcriber.from_checkpoint(b, device="cpu").log_probs(waves)
    both = Transcriber.from_checkpoint([a, b], device="cpu").log_probs(waves)
    for x, y, fused in zip(one, two, both, strict=True):
        assert not np.allclose(x, y, atol=1e-3)  # two different models
        np.testing.assert_allclose(fused, np.log((np.exp(x) + np.exp(y)) / 2), atol=1e-5)
    same = Transcriber.from_checkpoint([a, a], device="cpu").log_probs(waves)
    for x, fused in zip(one, same, strict=True):
        np.testing.assert_allclose(fused, x, atol=1e-5)


def test_each_member_subtracts_its_own_speaker_means(tmp_path: Path) -> None:
    """A speaker-normalised member with 40 mel bins beside one with 32 and one normalising per
    utterance: each gets the means of its own features, and the fusion is of what each gives alone."""
    ckpts = [
        save_untrained_checkpoint(tmp_path / "s40.ckpt", 0, {"normalize": "speaker"}),
        save_untrained_checkpoint(tmp_path / "s32.ckpt", 1, {"normalize": "speaker", "n_mels": 32}),
        save_untrained_checkpoint(tmp_path / "utt.ckpt", 2, {"normalize": "utterance"}),
    ]
    waves, speakers = _waves(), ["ann", "bob", "ann"]
    alone = [
        [lp for lp, _ in Transcriber.from_checkpoint(c, device="cpu").outputs(waves, False, speakers)]
        for c in ckpts
    ]
    fused = Transcriber.from_checkpoint(ckpts, device="cpu").outputs(waves, False, speakers)
    for n, (log_probs, _) in enumerate(fused):
        np.testing.assert_allclose(log_probs, mean_log_probs([member[n] for member in alone]), atol=1e-5)


def test_members_that_do_not_line_up_are_refused_by_name(tmp_path: Path) -> None:
    a = save_untrained_checkpoint(tmp_path / "a.ckpt", 0)
    stride = save_untrained_checkpoint(tmp_path / "stride2.ckpt", 1, model={"stride": 2})
    letters = save_untrained_checkpoint(tmp_path / "letters.ckpt", 2, alphabet="abc")
    with pytest.raises(EnsembleError, match=r"stride2\.ckpt.*frames per second"):
        Transcriber.from_checkpoint([a, stride], device="cpu")
    with pytest.raises(EnsembleError, match=r"letters\.ckpt.*alphabet"):
        Transcriber.from_checkpoint([a, letters], device="cpu")
    with pytest.raises(ValueError, match="empty list"):
        Transcriber.from_checkpoint([], device="cpu")


def test_the_joint_search_is_refused_for_an_ensemble_before_loading_and_greedy_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = [tmp_path / "not-there-1.ckpt", tmp_path / "not-there-2.ckpt"]
    with pytest.raises(EnsembleError, match="decoder=beam or decoder=greedy"):
        Transcriber.from_checkpoint(missing, DecoderConfig("joint", beam_size=4, ctc_weight=0.3))
    a, b = _pair(tmp_path)
    Transcriber.from_checkpoint([a, b], device="cpu")
    assert "greedy" not in caplog.text  # greedy by default of the API, not chosen
    Transcriber.from_checkpoint([a, b], DecoderConfig("greedy"), device="cpu")
    assert "greedy decoding of an ensemble drops characters" in caplog.text


def test_decode_scores_an_ensemble_with_the_first_runs_lexicon(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, "best.ckpt")
    (tmp_path / "a" / "lexicon.txt").write_text("yes\nno\n")
    rows = []
    for n, wave in enumerate(_waves()):
        sf.write(str(tmp_path / f"{n}.wav"), wave, 16000)
        rows.append(f'{{"audio_filepath": "{n}.wav", "duration": {len(wave) / 16000}, "text": "yes"}}')
    manifest = tmp_path / "test.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    beam = DecoderConfig(
        "beam", lexicon="auto", lm="auto", beam_size=4, beam_threshold=10.0, lm_weight=0.0, word_score=0.0
    )
    report = evaluate([a, b], manifest, beam, device="cpu")
    assert report["checkpoint"] == [str(a), str(b)]
    assert report["beam"]["settings"]["lexicon"]
    assert {word for row in report["hypotheses"] for word in row["beam"].split()} <= {"yes", "no"}


def test_tuning_takes_one_checkpoint(tmp_path: Path) -> None:
    from asr.tuning import tune_decoder

    a, b = _pair(tmp_path)
    beam = DecoderConfig("beam", lexicon="auto", lm="auto", beam_size=4, beam_threshold=10.0)
    with pytest.raises(ValueError, match="beside one checkpoint"):
        tune_decoder([a, b], tmp_path / "val.jsonl", beam, tmp_path / "table.tsv")
