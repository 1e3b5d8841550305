"""CTC decoding of log-probabilities to token ids."""

from __future__ import annotations

import torch


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Best path per utterance: argmax per frame, repeats merged, blanks removed."""
    best = log_probs.argmax(dim=-1).cpu()
    out = []
    for row, length in zip(best, lengths.cpu().tolist(), strict=True):
        path = torch.unique_consecutive(row[:length])
        out.append([t for t in path.tolist() if t != blank])
    return out
