"""WER/CER and error reports on jiwer, the scorer most published ASR numbers use."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import jiwer


def error_rates(references: list[str], hypotheses: list[str]) -> tuple[float, float]:
    """Corpus-level (WER, CER): errors summed over utterances, divided by reference length."""
    return (
        jiwer.process_words(references, hypotheses).wer,
        jiwer.process_characters(references, hypotheses).cer,
    )


def error_counts(references: list[str], hypotheses: list[str]) -> tuple[int, int, int, int]:
    """(word errors, reference words, character errors, reference characters): the sums behind
    corpus-level WER and CER, which shards of a corpus (DDP ranks) can add up."""
    if not references:
        return 0, 0, 0, 0
    words = jiwer.process_words(references, hypotheses)
    chars = jiwer.process_characters(references, hypotheses)
    return (
        words.substitutions + words.deletions + words.insertions,
        words.hits + words.substitutions + words.deletions,
        chars.substitutions + chars.deletions + chars.insertions,
        chars.hits + chars.substitutions + chars.deletions,
    )


def error_report(references: list[str], hypotheses: list[str], ids: list[str], worst: int = 10) -> dict:
    """WER, CER, the word error counts and the `worst` utterances by word errors."""
    words = jiwer.process_words(references, hypotheses)
    per_utt = sorted(
        (
            (_word_errors(ref, hyp), ref, hyp, uid)
            for uid, ref, hyp in zip(ids, references, hypotheses, strict=True)
        ),
        key=lambda row: -row[0],
    )
    return {
        "utterances": len(references),
        "reference_words": words.hits + words.substitutions + words.deletions,
        "wer": words.wer,
        "cer": jiwer.process_characters(references, hypotheses).cer,
        "substitutions": words.substitutions,
        "deletions": words.deletions,
        "insertions": words.insertions,
        "worst": [
            {"id": uid, "errors": n, "reference": ref, "hypothesis": hyp}
            for n, ref, hyp, uid in per_utt[:worst]
            if n > 0
        ],
    }


def _word_errors(reference: str, hypothesis: str) -> int:
    out = jiwer.process_words(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions


def outside_vocabulary(references: list[str], hypotheses: list[str], vocabulary: AbstractSet[str]) -> dict:
    """Word errors in the utterances with a reference word outside `vocabulary` (which a search held
    to that vocabulary cannot get right) and in the rest, with the words each part has."""
    parts: dict[str, tuple[list[str], list[str]]] = {"outside": ([], []), "inside": ([], [])}
    for ref, hyp in zip(references, hypotheses, strict=True):
        refs, hyps = parts["outside" if any(w not in vocabulary for w in ref.split()) else "inside"]
        refs.append(ref)
        hyps.append(hyp)
    out = {}
    for name, (refs, hyps) in parts.items():
        words = jiwer.process_words(refs, hyps) if refs else None
        out[name] = {
            "utterances": len(refs),
            "words": words.hits + words.substitutions + words.deletions if words else 0,
            "errors": words.substitutions + words.deletions + words.insertions if words else 0,
        }
    return out
