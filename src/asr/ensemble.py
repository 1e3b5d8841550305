"""Several trained recognisers decoded as one: their CTC posteriors averaged frame by frame.

Models trained alike from different seeds disagree most where each has latched onto an accident
of its few training voices (on FSDD one seed alone moved an unheard speaker's WER by 19 points,
benchmarks/RESULTS.md); averaging their frame posteriors keeps what they agree on. This is
posterior fusion: the members must spell with the same alphabet at the same frame rate, so that
frame t of one is frame t of every other; each member computes its own features (and, with
`features.normalize=speaker`, its own speaker means) from the same audio.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from asr.backends import Runner

log = logging.getLogger(__name__)


class EnsembleError(ValueError):
    """Checkpoints that cannot be decoded as one."""


def check_decoder(members: int, decoder: str | None) -> None:
    """Refuse the joint search for an ensemble, before any model is loaded; warn of greedy search.

    Greedy decoding takes each frame's best symbol: where members put a character's spike on
    neighbouring frames, the average gives it half the probability on each and blank wins both, so
    the character is lost ("eight" as "eigt" on FSDD, benchmarks/RESULTS.md). The beam search sums
    over alignments and keeps it."""
    if members > 1 and decoder == "greedy":
        log.warning(
            "greedy decoding of an ensemble drops characters its members place on different frames: "
            "decode ensembles with decoder=beam"
        )
    if members > 1 and decoder == "joint":
        raise EnsembleError(
            "decoder=joint searches with one model's attention decoder: decode an ensemble "
            "(several checkpoints) with decoder=beam or decoder=greedy"
        )


class EnsembleRunner:
    """A `Runner` over member runners: log of the mean of their CTC probabilities.

    Where members normalise per speaker, `speaker_mean` stacks each member's mean (members,
    n_mels) and the call hands each member its own row: the Transcriber passes them through
    without looking inside.
    """

    attention = None  # the joint search reads one model's encoder states; an ensemble is CTC only

    def __init__(self, runners: Sequence[Runner], names: Sequence[str]) -> None:
        if len(runners) < 2:
            raise EnsembleError("an ensemble needs at least two checkpoints")
        first = runners[0]
        for runner, name in zip(runners[1:], names[1:], strict=True):
            for what, mine, theirs in (
                ("alphabet", runner.tokenizer.alphabet, first.tokenizer.alphabet),
                ("sample rate", runner.sample_rate, first.sample_rate),
                ("frames per second", runner.frames_per_second, first.frames_per_second),
            ):
                if mine != theirs:
                    raise EnsembleError(
                        f"{name} cannot join an ensemble with {names[0]}: its {what} is {mine!r}, "
                        f"not {theirs!r} (ensembles average frame posteriors, so members must share "
                        "alphabet and frame rate: train them with the same data and model.stride)"
                    )
        self.runners = list(runners)
        self.tokenizer = first.tokenizer
        self.sample_rate = first.sample_rate
        self.frames_per_second = first.frames_per_second
        self.per_speaker = any(runner.per_speaker for runner in runners)

    def __call__(
        self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        outputs = [
            runner(waves, lengths, self._member_means(speaker_means, k, runner))
            for k, runner in enumerate(self.runners)
        ]
        frames = outputs[0][1]
        for _, other in outputs[1:]:
            if not np.array_equal(other, frames):
                raise EnsembleError(f"ensemble members gave different frame counts ({frames} and {other})")
        return mean_log_probs([log_probs for log_probs, _ in outputs]), frames

    def speaker_mean(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Each member's speaker mean over `waves`, stacked (members, widest n_mels), each row
        NaN past its own member's width; a member that does not normalise per speaker has a row of
        NaN, never read."""
        rows = [runner.speaker_mean(waves) if runner.per_speaker else np.empty(0) for runner in self.runners]
        out = np.full((len(rows), max(len(row) for row in rows)), np.nan, np.float32)
        for k, row in enumerate(rows):
            out[k, : len(row)] = row
        return out

    @staticmethod
    def _member_means(speaker_means: np.ndarray | None, k: int, runner: Runner) -> np.ndarray | None:
        if speaker_means is None or not runner.per_speaker:
            return None
        rows = speaker_means[:, k, :]
        return np.ascontiguousarray(rows[:, ~np.isnan(rows[0])])


def mean_log_probs(members: Sequence[np.ndarray]) -> np.ndarray:
    """log(mean_k exp(members[k])), computed stably: the members' posteriors averaged."""
    stacked = np.stack(members).astype(np.float64)
    peak = stacked.max(axis=0)
    mean = np.exp(stacked - peak).mean(axis=0)
    return (peak + np.log(mean)).astype(np.float32)
