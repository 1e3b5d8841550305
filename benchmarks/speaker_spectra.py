"""How the FSDD speakers' recordings are coloured, and what removing each speaker's colouring
would be worth to a recogniser trained on four of them.

    python benchmarks/speaker_spectra.py [--fsdd ../shared/data/fsdd] [--bands 20]

For every take, the mean log-mel power (8 kHz, `--bands` mel bands from 0 to 4 kHz) over its
frames within 30 dB of its loudest; per speaker, the mean of those over their takes, less its own
mean over bands, so that loudness drops out and only the shape (the voice's and the
microphone's colouring together) is left. Prints one row per speaker and the largest spread
between speakers in any band: how far apart the channels a model trained on four of them sees are.

Then a probe, minutes instead of the hour a recogniser's leave-one-speaker-out takes: a linear
classifier of the digit (multinomial logistic regression, L2, full-batch L-BFGS, deterministic)
on each take's log-mel frames resampled to a fixed 12 frames, one mean and deviation per take as
`features.normalize=utterance` has them, trained on four speakers and scored on the fifth; once
as it is, once with each speaker's mean log-mel spectrum (over all their takes) subtracted first,
as Kaldi's per-speaker cepstral mean normalisation does. The classifier's error rates say
whether per-speaker normalisation is worth building into the pipeline, not what the recogniser
would make. Writes benchmarks/results/speaker_spectra.json.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import torch
import torchaudio
from provenance import write_result

from asr.data.audio import load_audio
from asr.data.corpora.fsdd import NAME
from asr.features import mel_band_edges

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 8000
SPAN_DB = 30.0  # frames this close to a take's loudest count as speech (for the spectra)
FLOOR_DB = 60.0  # power floor below each take's peak, as features.floor_db
PROBE_FRAMES = 12  # each take's frames resampled to this many for the probe
PROBE_DECAY = 5e-3  # the probe's L2 weight on the mean loss (sklearn's C=0.1 on 2,000 takes)


class Take(NamedTuple):
    speaker: str
    digit: int
    power: torch.Tensor  # (bands, frames) log-mel power in dB, floored FLOOR_DB below the peak


def read_takes(fsdd: Path, bands: int) -> list[Take]:
    mel = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, n_fft=256, win_length=200, hop_length=80, n_mels=bands
    )
    takes = []
    for path in sorted((fsdd / "recordings").glob("*.wav")):
        name = NAME.match(path.name)
        if name is None:
            raise ValueError(
                f"{path}: not named {{digit}}_{{speaker}}_{{index}}.wav as FSDD's recordings are"
            )
        power = 10 * mel(torch.from_numpy(load_audio(path, SAMPLE_RATE))).clamp_min(1e-10).log10()
        takes.append(Take(name.group(2), int(name.group(1)), power.clamp_min(power.max() - FLOOR_DB)))
    return takes


def speaker_spectra(takes: list[Take]) -> dict[str, torch.Tensor]:
    """Each speaker's average over their takes of the take's mean power over its loud frames,
    less its mean over bands."""
    spectra: dict[str, list[torch.Tensor]] = defaultdict(list)
    for take in takes:
        energy = take.power.mean(dim=0)
        spectra[take.speaker].append(take.power[:, energy > energy.max() - SPAN_DB].mean(dim=1))
    shapes = {}
    for speaker, rows in sorted(spectra.items()):
        average = torch.stack(rows).mean(dim=0)
        shapes[speaker] = average - average.mean()
    return shapes


def probe_features(take: Take, offset: torch.Tensor | None) -> torch.Tensor:
    """A take as the probe reads it: `offset` (a speaker's mean spectrum) subtracted, one mean
    and deviation over the take, resampled to PROBE_FRAMES frames."""
    power = take.power if offset is None else take.power - offset[:, None]
    power = (power - power.mean()) / power.std()
    resampled = torch.nn.functional.interpolate(power[None], size=PROBE_FRAMES, mode="linear")
    return resampled.flatten()


def probe_error(train: torch.Tensor, labels: torch.Tensor, test: torch.Tensor, truth: torch.Tensor) -> float:
    """Error rate on `test` of a multinomial logistic regression fitted to `train`."""
    weights = torch.zeros(train.size(1), 10, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], max_iter=500, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(train.double() @ weights + bias, labels)
        value = value + PROBE_DECAY / 2 * weights.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    scores = test.double() @ weights + bias
    return float((scores.argmax(dim=1) != truth).double().mean())


def probe(takes: list[Take], per_speaker_mean: bool) -> dict[str, float]:
    """Leave-one-speaker-out error rate of the probe for each speaker."""
    offsets: dict[str, torch.Tensor] = {}
    if per_speaker_mean:
        for speaker in {take.speaker for take in takes}:
            means = [take.power.mean(dim=1) for take in takes if take.speaker == speaker]
            offsets[speaker] = torch.stack(means).mean(dim=0)
    features = torch.stack([probe_features(take, offsets.get(take.speaker)) for take in takes])
    digits = torch.tensor([take.digit for take in takes])
    speakers = [take.speaker for take in takes]
    errors = {}
    for held_out in sorted(set(speakers)):
        test = torch.tensor([speaker == held_out for speaker in speakers])
        errors[held_out] = probe_error(features[~test], digits[~test], features[test], digits[test])
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fsdd", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    parser.add_argument("--bands", type=int, default=20)
    args = parser.parse_args()
    takes = read_takes(args.fsdd, args.bands)
    shapes = speaker_spectra(takes)
    edges = mel_band_edges(SAMPLE_RATE, args.bands).tolist()
    print("band (Hz) " + " ".join(f"{round(low):>5}" for low in edges[: args.bands]))
    for speaker, shape in shapes.items():
        print(f"{speaker:<9} " + " ".join(f"{value:5.0f}" for value in shape.tolist()))
    table = torch.stack(list(shapes.values()))
    spread = table.max(dim=0).values - table.min(dim=0).values
    band = int(spread.argmax())
    print(
        f"largest spread between speakers: {float(spread[band]):.1f} dB, band {band} "
        f"({edges[band]:.0f}-{edges[band + 2]:.0f} Hz)"
    )
    probes = {"utterance": probe(takes, False), "per-speaker mean": probe(takes, True)}
    print("probe, leave one speaker out: " + " ".join(f"{s:>9}" for s in shapes) + "      mean")
    for name, errors in probes.items():
        mean = sum(errors.values()) / len(errors)
        print(f"{name:<29} " + " ".join(f"{e:9.1%}" for e in errors.values()) + f" {mean:9.1%}")
    write_result(
        ROOT / "benchmarks" / "results" / "speaker_spectra.json",
        "python benchmarks/speaker_spectra.py " + shlex.join(sys.argv[1:]),
        bands_hz=[[edges[i], edges[i + 2]] for i in range(args.bands)],
        speakers={speaker: shape.tolist() for speaker, shape in shapes.items()},
        largest_spread_db=float(spread[band]),
        largest_spread_band=band,
        probe_error={
            name: {**errors, "mean": sum(errors.values()) / len(errors)} for name, errors in probes.items()
        },
    )


if __name__ == "__main__":
    main()
