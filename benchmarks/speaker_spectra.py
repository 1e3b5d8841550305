"""How the FSDD speakers' recordings are coloured: each speaker's long-term average spectrum.

    python benchmarks/speaker_spectra.py [--fsdd ../shared/data/fsdd] [--bands 20]

For every take, the mean log-mel power (8 kHz, `--bands` mel bands from 0 to 4 kHz) over its
frames within 30 dB of its loudest; per speaker, the mean of those over their takes, less its own
mean over bands, so that loudness drops out and only the shape (the voice's and the
microphone's colouring together) is left. Prints one row per speaker and writes
benchmarks/results/speaker_spectra.json with each band's edges, the rows, and the largest spread
between speakers in any band: how far apart the channels a model trained on four of them sees are.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import soundfile as sf
import torch
import torchaudio
from provenance import write_result

from asr.data.corpora.fsdd import NAME

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 8000
SPAN_DB = 30.0  # frames this close to a take's loudest count as speech


def take_spectrum(path: Path, mel: torchaudio.transforms.MelSpectrogram) -> torch.Tensor:
    """The mean log-mel power in dB over a take's loud frames."""
    wave, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: {rate} Hz, FSDD is {SAMPLE_RATE} Hz")
    power = 10 * mel(torch.from_numpy(wave.mean(axis=1))).clamp_min(1e-10).log10()
    energy = power.mean(dim=0)
    return power[:, energy > energy.max() - SPAN_DB].mean(dim=1)


def speaker_spectra(fsdd: Path, bands: int) -> tuple[list[float], dict[str, list[float]]]:
    """Band edges in Hz, and each speaker's mean-removed average spectrum in dB."""
    mel = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, n_fft=256, win_length=200, hop_length=80, n_mels=bands
    )
    takes: dict[str, list[torch.Tensor]] = defaultdict(list)
    for path in sorted((fsdd / "recordings").glob("*.wav")):
        name = NAME.match(path.name)
        if name is None:
            raise ValueError(
                f"{path}: not named {{digit}}_{{speaker}}_{{index}}.wav as FSDD's recordings are"
            )
        takes[name.group(2)].append(take_spectrum(path, mel))
    top = 2595.0 * torch.log10(torch.tensor(1.0 + SAMPLE_RATE / 2 / 700.0))
    edges = 700.0 * (10 ** (torch.linspace(0, float(top), bands + 2) / 2595.0) - 1)
    shapes = {}
    for speaker, spectra in sorted(takes.items()):
        average = torch.stack(spectra).mean(dim=0)
        shapes[speaker] = (average - average.mean()).tolist()
    return edges.tolist(), shapes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fsdd", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    parser.add_argument("--bands", type=int, default=20)
    args = parser.parse_args()
    edges, shapes = speaker_spectra(args.fsdd, args.bands)
    print("band (Hz) " + " ".join(f"{round(low):>5}" for low in edges[: args.bands]))
    for speaker, shape in shapes.items():
        print(f"{speaker:<9} " + " ".join(f"{value:5.0f}" for value in shape))
    table = torch.tensor(list(shapes.values()))
    spread = table.max(dim=0).values - table.min(dim=0).values
    band = int(spread.argmax())
    print(
        f"largest spread between speakers: {float(spread[band]):.1f} dB, band {band} "
        f"({edges[band]:.0f}-{edges[band + 2]:.0f} Hz)"
    )
    write_result(
        ROOT / "benchmarks" / "results" / "speaker_spectra.json",
        "python benchmarks/speaker_spectra.py " + shlex.join(sys.argv[1:]),
        bands_hz=[[edges[i], edges[i + 2]] for i in range(args.bands)],
        speakers=shapes,
        largest_spread_db=float(spread[band]),
        largest_spread_band=band,
    )


if __name__ == "__main__":
    main()
