"""Joint CTC/attention beam search (`decoder=joint`), after Watanabe et al. (2017), "Hybrid
CTC/Attention Architecture for End-to-End Speech Recognition".

The search is label-synchronous: each step extends every hypothesis g by one character c, scored

    λ · log p_ctc(g c ... | x)  +  (1 - λ) · log p_att(g c | x)

where p_ctc(h ... | x) is CTC's probability that the transcript *begins* with h (its prefix
probability, summed over every alignment), and ending a hypothesis scores CTC's probability of
the whole transcript being exactly g. The attention decoder alone knows no length: it can stop
early or loop on a phrase. CTC's prefix probability falls steeply for text the audio does not
hold and its end probability is small until every frame is accounted for, so the joint score
neither cuts a long utterance nor lets it loop; and no transcript longer than the frames can
align to (more characters than frames) has any CTC probability at all.

Both terms are log-probabilities of extending a prefix, so a hypothesis's score only falls as it
grows: once the best ended hypothesis scores above every running one, nothing can overtake it and
the search stops. With a beam wide enough to hold every prefix the result is the exact joint
optimum (the tests compare it with brute force at λ = 1).

CTC prefix probabilities (Watanabe et al.'s Algorithm 2) keep, per hypothesis and frame t, the
probability r^n_t of the prefix's alignments ending in its last character at t and r^b_t of those
ending in a blank. Their recursions are linear in probability space, so each is computed for all
frames at once with a cumulative log-sum-exp in float64 rather than a loop over frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asr.attention import EOS, AttentionDecoder
from asr.text import CharTokenizer

NEG_INF = float("-inf")
FLOOR = -1e4  # log-probabilities below this count as this: keeps the cumulative sums finite


@dataclass(frozen=True)
class JointSettings:
    """Hypotheses kept per output step, and CTC's weight λ in the joint score."""

    beam_size: int
    ctc_weight: float

    def __post_init__(self) -> None:
        if self.beam_size < 1 or not 0.0 <= self.ctc_weight <= 1.0:
            raise ValueError(f"decoder.beam_size must be >= 1 and decoder.ctc_weight in [0, 1], not {self}")


class CtcPrefixScorer:
    """CTC prefix probabilities of growing hypotheses over one utterance's (T, vocab) log-probabilities.

    A hypothesis's state is `r` (2, T): log r^n_t and log r^b_t for t = 0 .. T-1.
    """

    def __init__(self, log_probs: np.ndarray, blank: int) -> None:
        self.x = torch.from_numpy(np.asarray(log_probs, dtype=np.float64)).clamp_min(FLOOR)
        self.blank = blank
        blank_probs = self.x[:, blank]
        self.blank_sums = blank_probs.cumsum(0) - blank_probs[0]  # Σ_{u=1..t} x_u(blank)

    def initial(self) -> torch.Tensor:
        """The empty hypothesis: no character yet (r^n = 0), all blanks so far (r^b = Π x(blank))."""
        r_blank = self.x[:, self.blank].cumsum(0)
        return torch.stack([torch.full_like(r_blank, NEG_INF), r_blank])[None]

    def scores(self, r: torch.Tensor, last: torch.Tensor, empty: bool) -> torch.Tensor:
        """(K, vocab): log prefix probability of each hypothesis extended by each character, and in
        the blank's column the log probability of the hypothesis as the whole transcript.

        ψ(g c) = r^n_0(g c) + Σ_{t≥1} φ_{t-1} x_t(c), with φ = r^b(g) + r^n(g), or r^b(g) alone
        when c repeats g's last character (a repeat needs a blank between)."""
        r_char, r_blank = r[:, 0], r[:, 1]
        phi = torch.logaddexp(r_blank, r_char)[:, :-1, None] + self.x[None, 1:, :]
        psi = torch.logsumexp(phi, dim=1)
        if empty:
            psi = torch.logaddexp(psi, self.x[0][None, :])
        else:
            rows = torch.arange(len(last))
            psi[rows, last] = torch.logsumexp(r_blank[:, :-1] + self.x[1:, last].T, dim=1)
        psi[:, self.blank] = torch.logaddexp(r_char[:, -1], r_blank[:, -1])
        return psi

    def extend(self, r: torch.Tensor, last: torch.Tensor, tokens: torch.Tensor, empty: bool) -> torch.Tensor:
        """States (K, 2, T) of hypotheses with states `r` and last characters `last` extended by
        `tokens`.

        r^n_t = (r^n_{t-1} + φ_{t-1}) x_t(c) and r^b_t = (r^b_{t-1} + r^n_{t-1}) x_t(blank): with
        C_t = Σ_{u=1..t} log x_u, r_t / e^{C_t} is a running sum, hence logcumsumexp."""
        r_char, r_blank = r[:, 0], r[:, 1]
        x_char = self.x[:, tokens].T  # (K, T)
        char_sums = x_char.cumsum(1) - x_char[:, :1]
        phi = torch.where((tokens == last)[:, None], r_blank, torch.logaddexp(r_blank, r_char))
        first = x_char[:, :1] if empty else torch.full_like(x_char[:, :1], NEG_INF)
        new_char = torch.logcumsumexp(torch.cat([first, phi[:, :-1] - char_sums[:, :-1]], 1), 1) + char_sums
        carried = new_char[:, :-1] - self.blank_sums[None, :-1]
        new_blank = torch.logcumsumexp(torch.cat([torch.full_like(first, NEG_INF), carried], 1), 1)
        return torch.stack([new_char, new_blank + self.blank_sums[None, :]], dim=1)


@dataclass(frozen=True)
class Hypothesis:
    """The search's result: token ids, joint score, and (when asked for) the attention weights of
    each output step, the end included, (len(tokens) + 1, T)."""

    tokens: list[int]
    score: float
    weights: np.ndarray | None = None


class JointDecoder:
    """Joint CTC/attention beam search over one utterance's CTC log-probabilities and encoder states."""

    reads_states = True  # `decoder_config.decode_text` passes it the encoder states

    def __init__(
        self, tokenizer: CharTokenizer, attention: AttentionDecoder, settings: JointSettings
    ) -> None:
        if tokenizer.blank_id != EOS:
            raise ValueError(f"the attention decoder's end of sentence is id {EOS}, the tokenizer's blank")
        self.tokenizer = tokenizer
        self.attention = attention
        self.settings = settings

    def decode(self, log_probs: np.ndarray, states: np.ndarray) -> str:
        """Text of one utterance's (T, vocab) CTC log-probabilities and (T, D) encoder states."""
        return self.tokenizer.decode(self.search(log_probs, states).tokens)

    @torch.inference_mode()
    def search(self, log_probs: np.ndarray, states: np.ndarray, keep_weights: bool = False) -> Hypothesis:
        """The best-scoring ended hypothesis; with `keep_weights`, the attention weights of its
        every step too (what `attention_plot` draws)."""
        frames = len(log_probs)
        if frames == 0:
            return Hypothesis([], 0.0, np.zeros((1, 0)) if keep_weights else None)
        beam, ctc_weight = self.settings.beam_size, self.settings.ctc_weight
        device = next(self.attention.parameters()).device
        encoder = torch.from_numpy(np.ascontiguousarray(states[:frames]))[None].to(device)
        decoder = self.attention.start(encoder, torch.tensor([frames], device=device))
        ctc = CtcPrefixScorer(log_probs, self.tokenizer.blank_id)
        r, last = ctc.initial(), torch.tensor([EOS])
        scores, prefix = torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
        tokens: list[list[int]] = [[]]
        history = torch.zeros(1, 0, frames)
        best = Hypothesis([], NEG_INF)
        for step in range(frames + 1):  # at most one character per frame, then the end
            logits, decoder = self.attention.step(last.to(device), decoder)
            weights = decoder.weights.cpu() if keep_weights else None
            joint = scores[:, None].expand(-1, self.tokenizer.vocab_size).clone()
            if ctc_weight > 0:
                extended = ctc.scores(r, last, step == 0)
                joint += ctc_weight * (extended - prefix[:, None])
            if ctc_weight < 1:
                joint += (1 - ctc_weight) * logits.float().log_softmax(-1).double().cpu()
            ended = int(joint[:, EOS].argmax())
            if joint[ended, EOS] > best.score:
                kept = torch.cat([history[ended], weights[ended][None]]).numpy() if keep_weights else None
                best = Hypothesis(tokens[ended], float(joint[ended, EOS]), kept)
            joint[:, EOS] = NEG_INF
            top, flat = joint.flatten().topk(min(beam, joint.numel()))
            alive = top > best.score  # scores only fall: what is below the best end never overtakes it
            if step == frames or not alive.any():
                break
            top, flat = top[alive], flat[alive]
            rows, chars = flat // joint.size(1), flat % joint.size(1)
            if ctc_weight > 0:
                prefix = extended[rows, chars]
                r = ctc.extend(r[rows], last[rows], chars, step == 0)
            scores, last = top, chars
            tokens = [tokens[k] + [c] for k, c in zip(rows.tolist(), chars.tolist(), strict=True)]
            decoder = decoder.select(rows.to(device))
            if keep_weights:
                history = torch.cat([history[rows], weights[rows][:, None]], dim=1)
        return best
