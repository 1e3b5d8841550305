"""Speaker means for `features.normalize=speaker`: each speaker's average feature frame, pooled
over their audio, at training, scoring and transcription alike.

A third of a linear classifier's errors on a voice it never heard go with that speaker's average
spectrum (`benchmarks/speaker_spectra.py`): their vocal tract and microphone colour every word
they say. Subtracting the average over many of their utterances takes that out and leaves the
words, which one short utterance's own average cannot (Kaldi's per-speaker CMN does the same).
Only the speaker's audio is needed, never their transcripts, so an unseen speaker's test audio
gives their mean as a training speaker's does.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

from asr.data.audio import AudioError
from asr.data.manifest import OnError, Utterance, apply_error_policy
from asr.features import LogMel

log = logging.getLogger(__name__)

SECONDS_PER_SPEAKER = 120.0  # enough for a mean spectrum; bounds the pass over a large corpus
BATCH_SECONDS = 60.0


def spread(utterances: Sequence[Utterance], seconds: float = SECONDS_PER_SPEAKER) -> list[Utterance]:
    """Every k-th of `utterances`, k the smallest that keeps them within about `seconds`: taken
    evenly through them, since a manifest sorted by word or chapter must not give a mean of its
    first words only."""
    step = max(1, math.ceil(sum(u.duration for u in utterances) / seconds))
    return list(utterances[::step])


def _batches(waves: Sequence[torch.Tensor], samples: float) -> list[Sequence[torch.Tensor]]:
    """Consecutive runs of `waves` whose padded size stays within `samples` (at least one each)."""
    out, start, longest = [], 0, 0
    for end, wave in enumerate(waves):
        longest = max(longest, len(wave))
        if end > start and longest * (end + 1 - start) > samples:
            out.append(waves[start:end])
            start, longest = end, len(wave)
    return [*out, waves[start:]] if waves else out


@torch.no_grad()
def mean_frame(features: LogMel, waves: Sequence[torch.Tensor]) -> torch.Tensor:
    """The mean feature frame (n_mels) over all frames of `waves` (1-D, at the features' rate),
    computed in batches on the features' device."""
    device = next(features.buffers()).device
    sums = torch.zeros(features.n_mels, dtype=torch.float64, device=device)
    frames = 0
    for batch in _batches(waves, BATCH_SECONDS * features.sample_rate):
        chunk = [w.to(device) for w in batch]
        lengths = torch.tensor([len(w) for w in chunk], device=device)
        batch_sums, batch_frames = features.frame_sums(pad_sequence(chunk, batch_first=True), lengths)
        sums += batch_sums.double().sum(0)
        frames += int(batch_frames.sum())
    return (sums / max(frames, 1)).float()


def speaker_means(
    features: LogMel, utterances: Sequence[Utterance], on_error: OnError
) -> dict[str, torch.Tensor]:
    """Every speaker's (`Utterance.speaker_key`) mean frame, from about `SECONDS_PER_SPEAKER` of
    their audio at most (`spread`). A file that cannot be decoded is bad input under `on_error`; a
    speaker none of whose files can be decoded gets no mean (their rows are unreadable too, and
    skipped as such)."""
    unnamed = sum(utt.speaker is None for utt in utterances)
    if unnamed:
        log.warning(
            "%d of %d rows name no speaker: each of their files is its own speaker (a short file's "
            "mean carries its words; give the manifest rows a `speaker`)",
            unnamed,
            len(utterances),
        )
    groups: dict[str, list[Utterance]] = defaultdict(list)
    for utt in utterances:
        groups[utt.speaker_key].append(utt)
    means, problems = {}, []
    for key, rows in groups.items():
        waves = []
        for utt in spread(rows):
            try:
                waves.append(torch.from_numpy(utt.load(features.sample_rate)))
            except AudioError as err:
                problems.append(str(err))
        if waves:
            means[key] = mean_frame(features, waves).cpu()
    apply_error_policy(problems, len(utterances), "files read for speaker means", on_error)
    log.info("speaker means of %d speakers", len(means))
    return means
