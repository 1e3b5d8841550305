"""Speaker-adversarial training (`speaker_adversary=WEIGHT`): a classifier learns to tell the
training speakers apart from every encoder state, and the encoder learns to defeat it.

On FSDD most of an unheard speaker's errors are a few confusions the model is sure of, which one
transcribed take of each digit by that speaker undoes (benchmarks/RESULTS.md): the encoder's
states still carry who spoke. Between the classifier and the encoder sits a gradient reversal
(Ganin & Lempitsky 2015; for ASR, Meng et al. 2018): the classifier descends its cross-entropy,
the encoder ascends it scaled by WEIGHT, so what the CTC head reads is pushed towards states from
which the speaker cannot be told. Training only: the recogniser, its checkpoints' `recognizer.`
weights and everything that scores or transcribes are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from asr.padding import length_mask

HIDDEN = 256  # the classifier's one hidden layer: enough to read speakers from the states


class _Reverse(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by -scale."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """`x` unchanged; what flows back through it is negated and scaled by `scale`."""
    return _Reverse.apply(x, scale)


class SpeakerAdversary(nn.Module):
    """A speaker classifier over encoder states behind a gradient reversal of `weight`.

    `speakers` are the training set's speaker keys (`Utterance.speaker_key`): a row whose key is
    not among them (a validation speaker, say) adds nothing to the loss.
    """

    def __init__(self, encoder_size: int, speakers: Sequence[str], weight: float) -> None:
        super().__init__()
        if len(speakers) < 2:
            raise ValueError(
                f"speaker_adversary needs at least two training speakers to tell apart, the training "
                f"set has {len(speakers)}: give the manifest rows a `speaker`, or set speaker_adversary=0"
            )
        self.weight = weight
        self.index = {key: i for i, key in enumerate(speakers)}
        self.classifier = nn.Sequential(
            nn.Linear(encoder_size, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, len(speakers))
        )

    def forward(
        self, states: torch.Tensor, lengths: torch.Tensor, speaker_keys: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The classifier's cross-entropy and accuracy over the real frames of the rows whose
        speaker it knows (each frame counted once: padding never enters either). Both are zero
        when no row is known; the loss then still reaches every weight, so DDP's ranks agree."""
        known = [self.index.get(key, -1) for key in speaker_keys]
        labels = torch.tensor(known, device=states.device)
        logits = self.classifier(reverse_gradient(states, self.weight)).float()
        mask = length_mask(lengths.to(states.device), states.size(1)) & (labels >= 0)[:, None]
        targets = labels.clamp_min(0)[:, None].expand(-1, states.size(1))
        frame_losses = nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        frames = mask.sum().clamp_min(1)
        loss = (frame_losses * mask).sum() / frames
        accuracy = ((logits.argmax(-1) == targets) & mask).sum() / frames
        return loss, accuracy.detach()
