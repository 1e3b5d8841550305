"""An unheard speaker's frequency axis warped at scoring time: how much of their error is their
vocal tract length, and whether the model's own confidence can tell which warp suits them.

    python benchmarks/speaker_warp.py --run DIR [--run DIR ...] [--tag TAG]

Each DIR is a run kept by `python benchmarks/fsdd.py --holdout SPEAKER --keep DIR ...`
(DIR/run/checkpoints/best.ckpt, its lexicon and LM beside it; DIR/manifests/test.jsonl, the
held-out speaker's takes). For every factor of a grid, all of that speaker's features are warped
by it (training's VTLP, `asr.features.VocalTractWarp`, at one fixed factor) and scored greedily
and with the run's beam search. Beside each factor's WER, three measures that need no
transcript and so could choose a factor for a speaker never heard: the mean log posterior of each
utterance's beam hypothesis (CTC, over all its alignments), the mean log probability of each
frame's best token, and how close the speaker's warped features' per-band standard deviations
come to the training speakers' (DIR/manifests/train.jsonl, unwarped): a feature statistic, no
pass through the model. Reports the WER as trained (factor 1), at the factor each measure picks, at
the best factor (the oracle: chosen on the transcripts, which an unheard speaker does not come
with), and with test-time augmentation (frame posteriors averaged over several factors; one
model, so its CTC spikes fall together). Writes benchmarks/results/speaker-warp[-TAG].json.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from provenance import write_result
from torch.nn.utils.rnn import pad_sequence

from asr.data.manifest import OnError, Utterance, read_manifest
from asr.decoder_config import Decoder, DecoderConfig, build_decoder
from asr.decoding import GreedyDecoder
from asr.features import VocalTractWarp
from asr.metrics import error_report
from asr.recognizer import Recognizer
from asr.speakers import speaker_means, spread

ROOT = Path(__file__).resolve().parents[1]
FACTORS = tuple(round(0.75 + 0.05 * k, 2) for k in range(11))  # 0.75 .. 1.25
AVERAGED = ((0.9, 1.0, 1.1), FACTORS)
BEAM = DecoderConfig("beam", lexicon="auto", lm="auto", beam_size=32, beam_threshold=10.0)
BATCH = 100
VTLP_RANGE = 0.1  # VocalTractWarp's training range, unused: warp_bins is given each factor


@torch.inference_mode()
def warped_log_probs(
    recognizer: Recognizer, waves: list[torch.Tensor], means: list[torch.Tensor] | None, factor: float
) -> list[np.ndarray]:
    """Each waveform's CTC log-probabilities (T', vocab) with its features warped by `factor`."""
    warp = VocalTractWarp(recognizer.sample_rate, recognizer.features.n_mels, VTLP_RANGE)

    def warped(feats: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        return warp.warp_bins(feats, torch.full((feats.size(0),), factor))

    out = []
    for start in range(0, len(waves), BATCH):
        chunk = waves[start : start + BATCH]
        lengths = torch.tensor([len(w) for w in chunk])
        rows = None if means is None else torch.stack(means[start : start + BATCH])
        log_probs, frames = recognizer(pad_sequence(chunk, batch_first=True), lengths, warped, rows)
        out += [log_probs[k, : frames[k]].numpy() for k in range(len(chunk))]
    return out


@torch.inference_mode()
def deviation_profile(recognizer: Recognizer, rows: list[Utterance], factor: float) -> np.ndarray:
    """The per-bin standard deviation (n_mels) of `rows`' features warped by `factor`, about their
    own mean frame, over about a minute of them (`spread`): how widely a speaker's spectrum moves
    in each band, which a longer or shorter vocal tract shifts along the bands."""
    rows = spread(rows, 60.0)
    waves = [torch.from_numpy(r.load(recognizer.sample_rate)) for r in rows]
    lengths = torch.tensor([len(w) for w in waves])
    feats, frames, mask = recognizer.features._normalised(pad_sequence(waves, batch_first=True), lengths)
    warp = VocalTractWarp(recognizer.sample_rate, recognizer.features.n_mels, VTLP_RANGE)
    feats = warp.warp_bins(feats, torch.full((feats.size(0),), factor)) * mask
    count = frames.sum()
    mean = feats.sum((0, 1)) / count
    return (((feats - mean) * mask) ** 2).sum((0, 1)).div(count).sqrt().numpy()


def training_profile(recognizer: Recognizer, manifest: Path) -> np.ndarray:
    """The mean over the training speakers of each one's `deviation_profile`, unwarped."""
    groups = defaultdict(list)
    for row in read_manifest(manifest, recognizer.tokenizer, on_error=OnError.SKIP):
        groups[row.speaker_key].append(row)
    return np.mean([deviation_profile(recognizer, rows, 1.0) for rows in groups.values()], axis=0)


def sequence_log_posterior(log_probs: np.ndarray, ids: list[int]) -> float:
    """log P(ids | audio) under CTC, over all alignments (all blanks for an empty hypothesis)."""
    if not ids:
        return float(log_probs[:, 0].sum())
    loss = torch.nn.functional.ctc_loss(
        torch.from_numpy(log_probs)[:, None, :],
        torch.tensor([ids]),
        torch.tensor([len(log_probs)]),
        torch.tensor([len(ids)]),
        reduction="sum",
    )
    return -float(loss)


def score_speaker(run: Path) -> dict:
    """Every factor's WER and label-free measures on one kept run's held-out speaker."""
    ckpt = run / "run" / "checkpoints" / "best.ckpt"
    recognizer = Recognizer.from_checkpoint(ckpt)
    tokenizer = recognizer.tokenizer
    rows = read_manifest(run / "manifests" / "test.jsonl", tokenizer, on_error=OnError.SKIP)
    waves = [torch.from_numpy(r.load(recognizer.sample_rate)) for r in rows]
    table = speaker_means(recognizer.features, rows, OnError.SKIP) if recognizer.per_speaker else None
    means = None if table is None else [table[r.speaker_key] for r in rows]
    references, names = [r.text for r in rows], [r.label for r in rows]
    beam, greedy = build_decoder(BEAM, ckpt, tokenizer), GreedyDecoder(tokenizer)

    def wer(decoder: Decoder, posteriors: list[np.ndarray]) -> float:
        return error_report(references, [decoder.decode(x) for x in posteriors], names, 0)["wer"]

    reference = training_profile(recognizer, run / "manifests" / "train.jsonl")
    factors, posteriors = [], {}
    for factor in FACTORS:
        distance = float(np.linalg.norm(deviation_profile(recognizer, rows, factor) - reference))
        log_probs = warped_log_probs(recognizer, waves, means, factor)
        posteriors[factor] = log_probs
        hyps = [beam.decode(x) for x in log_probs]
        confidence = [
            sequence_log_posterior(x, tokenizer.encode(h)) for x, h in zip(log_probs, hyps, strict=True)
        ]
        factors.append(
            {
                "factor": factor,
                "greedy_wer": wer(greedy, log_probs),
                "beam_wer": error_report(references, hyps, names, 0)["wer"],
                "hypothesis_log_posterior": float(np.mean(confidence)),
                "best_frame_log_prob": float(np.mean([x.max(-1).mean() for x in log_probs])),
                "minus_profile_distance": -distance,
            }
        )
        print(factors[-1], flush=True)
    averaged = []
    for subset in AVERAGED:
        mixed = [
            np.log(np.mean([np.exp(posteriors[f][k]) for f in subset], axis=0)) for k in range(len(rows))
        ]
        averaged.append(
            {"factors": list(subset), "greedy_wer": wer(greedy, mixed), "beam_wer": wer(beam, mixed)}
        )
    by_factor = {row["factor"]: row for row in factors}
    picks = {
        "as_trained": 1.0,
        **{
            f"by_{measure}": max(factors, key=lambda row, m=measure: row[m])["factor"]
            for measure in ("hypothesis_log_posterior", "best_frame_log_prob", "minus_profile_distance")
        },
        "oracle": min(factors, key=lambda row: row["beam_wer"])["factor"],
    }
    return {
        "run": str(run),
        "utterances": len(rows),
        "factors": factors,
        "picked": {name: {"factor": f, "beam_wer": by_factor[f]["beam_wer"]} for name, f in picks.items()},
        "averaged": averaged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, action="append", required=True, help="a fsdd.py --keep folder")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    speakers = [score_speaker(run) for run in args.run]
    mean = {
        name: float(np.mean([s["picked"][name]["beam_wer"] for s in speakers]))
        for name in speakers[0]["picked"]
    }
    mean |= {
        f"averaged_{len(sub['factors'])}": float(np.mean([s["averaged"][k]["beam_wer"] for s in speakers]))
        for k, sub in enumerate(speakers[0]["averaged"])
    }
    for s in speakers:
        picked = " | ".join(f"{v['factor']:.2f}: {100 * v['beam_wer']:.2f}%" for v in s["picked"].values())
        averaged = " | ".join(f"{100 * a['beam_wer']:.2f}%" for a in s["averaged"])
        print(f"| {Path(s['run']).name} | {picked} | {averaged} |")
    print("| mean | " + " | ".join(f"{100 * v:.2f}%" for v in mean.values()) + " |")
    command = " ".join(["python", "benchmarks/speaker_warp.py", *map(shlex.quote, sys.argv[1:])])
    out = ROOT / "benchmarks" / "results" / f"speaker-warp{'-' + args.tag if args.tag else ''}.json"
    write_result(out, command, speakers=speakers, mean_beam_wer=mean)


if __name__ == "__main__":
    main()
