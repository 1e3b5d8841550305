"""eSpeak NG through ctypes, from the `espeakng-loader` wheel or the system's libespeak-ng.

The wheel makes corpus generation work with nothing but pip; the system library (Debian's
`espeak-ng` package) is the fallback when the wheel is absent.

eSpeak NG keeps synthesis state between calls (echo buffers, noise and flutter positions), so the
same text can come out differently depending on what was spoken before. Callers that need
reproducible audio must synthesise a fixed sequence in a fresh process, and the random seed of
its breath and noise sources is set before every utterance: `espeak_ng_SetRandSeed` where the
library has it, and always libc's `srand`, because the Klatt voices (the `caleb` variant among
them) draw from libc's `rand` even where eSpeak NG has its own generator, and whatever else in the
process calls `rand` moved their audio from one generation to the next.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: the callback runs inside espeak_Synth
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH = 1, 3
_IPA = 0x02  # espeak_TextToPhonemes: phonemes in IPA, not its own ASCII names
_MAX_DATA_PATH = 150  # eSpeak NG copies the data path into a 160-byte buffer and exits if longer

_EVENT_END_OF_LIST, _EVENT_WORD = 0, 1


class _Event(ctypes.Structure):
    """eSpeak NG's espeak_EVENT; `id` is a union of an int, a pointer and 8 chars."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    )


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakError(RuntimeError):
    """eSpeak NG is missing or refused a request."""


def _locate() -> tuple[str, str | None]:
    """Library path and data folder: the wheel's if installed, else the system's."""
    try:
        import espeakng_loader
    except ImportError:
        library = ctypes.util.find_library("espeak-ng")
        if library is None:
            raise EspeakError(
                "eSpeak NG not found: `pip install espeakng-loader` or `apt-get install espeak-ng`"
            ) from None
        return library, None
    data = espeakng_loader.get_data_path()
    if len(data.encode()) > _MAX_DATA_PATH:
        data = str(_short_copy(Path(data)))
    return espeakng_loader.get_library_path(), data


def _short_copy(data: Path) -> Path:
    """A copy of `data` under a short temporary path, made once and shared by every process.

    Each worker creates its own engine, so copying per engine would copy the data hundreds of
    times; the copy is staged and renamed into place, so concurrent workers never see half of it.
    """
    key = hashlib.sha1(str(data).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"asr-espeak-{key}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="asr-espeak-staging-"))
        shutil.copytree(data, staging / "espeak-ng-data")
        try:
            staging.rename(target)
        except OSError:  # another process put its copy in place first
            shutil.rmtree(staging)
    return target / "espeak-ng-data"


class Espeak:
    """One eSpeak NG engine in this process; synthesises 16-bit mono audio."""

    def __init__(self) -> None:
        library, data = _locate()
        self._lib = ctypes.CDLL(library)
        own = getattr(self._lib, "espeak_ng_SetRandSeed", None)
        self._seeders = [ctypes.CDLL(None).srand, *([own] if own else [])]
        for seeder in self._seeders:
            seeder.argtypes = [ctypes.c_long]
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.sample_rate = self._lib.espeak_Initialize(_SYNCHRONOUS, 0, data.encode() if data else None, 0)
        if self.sample_rate <= 0:
            raise EspeakError(f"espeak_Initialize failed with {self.sample_rate} (library {library})")
        self._lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        self._lib.espeak_Info.restype = ctypes.c_char_p
        self._lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        data_path = ctypes.c_char_p()
        self._lib.espeak_Info(ctypes.byref(data_path))
        self.data_path = Path(data_path.value.decode())
        self._chunks: list[np.ndarray] = []
        self._words: dict[int, int] = {}  # text position (1-based character) -> audio position (ms)
        self.word_starts: list[float] = []
        self._callback = _CALLBACK(self._collect)  # kept on self: ctypes must not free it
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(
        self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.POINTER(_Event)
    ) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        k = 0
        while events and events[k].type != _EVENT_END_OF_LIST:
            if events[k].type == _EVENT_WORD:
                self._words.setdefault(events[k].text_position, events[k].audio_position)
            k += 1
        return 0

    def synthesize(self, text: str, voice: str, rate: int, pitch: int, seed: int = 0) -> np.ndarray:
        """Speak `text` with `voice` (e.g. "en-us+f3") at `rate` words/minute and `pitch` 0-99.

        Afterwards `word_starts` holds where eSpeak NG began each word of `text.split()`, in seconds
        from the start of the audio (NaN for a word it reported no start for): ground truth for
        word timings.
        """
        _, _, variant = voice.partition("+")
        # eSpeak NG silently ignores an unknown variant; only an unknown language is refused.
        unknown_variant = variant and not (self.data_path / "voices" / "!v" / variant).is_file()
        if unknown_variant or self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"eSpeak NG has no voice {voice!r} (data in {self.data_path})")
        self._lib.espeak_SetParameter(_RATE, rate, 0)
        self._lib.espeak_SetParameter(_PITCH, pitch, 0)
        for seeder in self._seeders:
            seeder(seed)
        self._chunks.clear()
        self._words.clear()
        data = text.encode() + b"\0"
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0 or self._lib.espeak_Synchronize() != 0:
            raise EspeakError(f"eSpeak NG failed ({status}) on {text!r} with voice {voice!r}")
        if not self._chunks:
            raise EspeakError(f"eSpeak NG produced no audio for {text!r} with voice {voice!r}")
        self.word_starts = [self._words.get(p, float("nan")) / 1000 for p in _word_positions(text)]
        return np.concatenate(self._chunks)

    def ipa(self, text: str, voice: str) -> str:
        """`text` in the IPA eSpeak NG would speak it with `voice`, a clause per call of its
        phonemizer, words apart: what another synthesizer (Kokoro) reads instead of spelling."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"eSpeak NG has no voice {voice!r} (data in {self.data_path})")
        data = ctypes.create_string_buffer(text.encode())
        position = ctypes.c_void_p(ctypes.addressof(data))
        clauses = []
        while position.value:
            clause = self._lib.espeak_TextToPhonemes(ctypes.byref(position), _CHARS_UTF8, _IPA)
            clauses.append(clause.decode())
        return " ".join(clauses)


def _word_positions(text: str) -> list[int]:
    """The 1-based character position of each word of `text.split()`, as eSpeak NG counts them."""
    positions, previous = [], " "
    for index, char in enumerate(text, start=1):
        if not char.isspace() and previous.isspace():
            positions.append(index)
        previous = char
    return positions
