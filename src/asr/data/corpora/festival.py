"""Festival's voices for the embedded corpus, where Festival is installed.

eSpeak NG's voices are all formant synthesis: however their accent, variant, pitch and rate are
drawn, they are one family, and a model trained on them alone hears other synthesizers' speech
as strings of syllables (Flite, the held-out synthesizer of `benchmarks/robustness.py`: 62% WER).
Festival's diphone voices are cut from one person's recorded speech, which eSpeak NG's are not;
joined to training, ked_diphone took Flite's WER from 62% to 28% (benchmarks/RESULTS.md).

Festival is not on PyPI. The corpus uses its voices where `festival` is on PATH and has them
(Debian: `apt-get install festival festvox-kdlpc16k`) and goes without them otherwise, saying so.
Only voices of speakers Flite does not have: Festival's kal_diphone and HTS slt voices are
recordings of Flite's kal and slt, and would put the held-out voices into training.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

VOICES = ("ked_diphone",)  # festvox-kdlpc16k: an American English male, none of Flite's speakers
SPEAKING_RATE = 175  # words a minute that Festival's own timing is taken to be, for `Line.rate`


class FestivalError(RuntimeError):
    pass


@dataclass(frozen=True)
class Line:
    """One utterance to speak: the words, the mean pitch in Hz, and the rate in words a minute
    (eSpeak NG's unit, so one range serves both synthesizers)."""

    text: str
    f0: int
    rate: int


def installed(voices: Sequence[str]) -> list[str]:
    """Those of `voices` that this machine's Festival has, in their order; none without Festival."""
    festival = shutil.which("festival")
    if festival is None:
        return []
    listed = subprocess.run(
        [festival, "--pipe"], input="(print (voice.list))\n", capture_output=True, text=True, timeout=120
    )
    have = set(listed.stdout.replace("(", " ").replace(")", " ").split())
    return [voice for voice in voices if voice in have]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(voice: str, lines: Sequence[Line], folder: Path) -> str:
    """The Scheme program that speaks `lines` in order into folder/NNNNNN.wav. Pitch goes through
    the target mean and spread of the linear-regression intonation model that Festival's diphone
    voices use; rate through the duration stretch."""
    out = [f"(voice_{voice})"]
    for index, line in enumerate(lines):
        out += [
            f"(set! int_lr_params '((target_f0_mean {line.f0}) (target_f0_std {max(8, line.f0 // 7)}) "
            "(model_f0_mean 170) (model_f0_std 34)))",
            f"(Parameter.set 'Duration_Stretch {SPEAKING_RATE / line.rate:.4f})",
            f"(utt.save.wave (utt.synth (Utterance Text {_quote(line.text)})) "
            f"{_quote(str(folder / f'{index:06d}.wav'))} 'riff)",
        ]
    return "\n".join(out) + "\n"


def synthesize(voice: str, lines: Sequence[Line]) -> tuple[list[np.ndarray], int]:
    """`lines` spoken by `voice` in one Festival process: float32 waves and their sample rate.
    Diphone synthesis draws nothing at random, so the same lines give the same audio."""
    festival = shutil.which("festival")
    if festival is None:
        raise FestivalError("Festival is not installed: apt-get install festival festvox-kdlpc16k")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "speak.scm").write_text(script(voice, lines, folder), encoding="utf-8")
        done = subprocess.run([festival, "-b", str(folder / "speak.scm")], capture_output=True, text=True)
        waves, rates = [], set()
        for index in range(len(lines)):
            path = folder / f"{index:06d}.wav"
            if done.returncode or not path.is_file():
                raise FestivalError(
                    f"Festival voice {voice} did not speak {lines[index].text!r} "
                    f"(festival -b exit {done.returncode}: {done.stderr.strip()[-300:]}); "
                    f"check that `festival` lists it: echo '(print (voice.list))' | festival --pipe"
                )
            wave, rate = sf.read(str(path), dtype="float32")
            waves.append(wave)
            rates.add(rate)
    if len(rates) > 1:
        raise FestivalError(f"Festival voice {voice} wrote several sample rates: {sorted(rates)}")
    return waves, rates.pop() if rates else 16000
