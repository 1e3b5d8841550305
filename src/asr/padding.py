"""Padded batches: which positions of each row are real, shared by features and model layers."""

from __future__ import annotations

import torch


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, T) boolean mask, True on the first `lengths[b]` positions of row b."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]
