"""Word n-gram language models: interpolated modified Kneser-Ney estimation, ARPA out and in.

No maintained pip-installable library estimates Kneser-Ney models into ARPA files (KenLM's `lmplz`
is a C++ program that no wheel ships), so estimation is written here from Chen & Goodman (1998),
with KenLM's conventions so that the files mean what KenLM's would:

- counts at the highest order, and of n-grams starting with `<s>`, are raw counts; every other
  lower-order n-gram counts its distinct left extensions (the continuation count);
- three discounts per order from the counts of counts; a corpus too small or too uniform to
  estimate them (FSDD's one-word transcripts) gets KenLM's fallback discounts 0.5, 1, 1.5, logged;
- unigrams are interpolated with the uniform distribution over the vocabulary (`</s>` and `<unk>`
  included, `<s>` excluded), so every conditional distribution sums to one and `<unk>` has a
  probability;
- interpolated probabilities are written in back-off form: the back-off weight of a context is its
  interpolation weight.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asr.atomic import atomic_path
from asr.data.manifest import OnError, parse_lines
from asr.lexicon import write_lexicon
from asr.text import CharTokenizer

log = logging.getLogger(__name__)

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
ABSENT_LOG10 = -99.0  # ARPA's log10 probability of `<s>`, which is never predicted
KENLM_UNK_LOG10 = -100.0  # what KenLM substitutes when a model has no `<unk>`

Ngram = tuple[str, ...]


class LanguageModelError(ValueError):
    """An LM file that is missing, empty or not ARPA; the message names the file and line."""


@dataclass
class NgramModel:
    """Back-off n-gram model: `logprobs[n - 1]` and `backoffs[n - 1]` hold the n-grams of order n."""

    logprobs: list[dict[Ngram, float]]
    backoffs: list[dict[Ngram, float]]

    @property
    def order(self) -> int:
        return len(self.logprobs)

    @property
    def vocabulary(self) -> set[str]:
        """Words the model can predict."""
        return {gram[0] for gram in self.logprobs[0]} - {BOS}

    def log10_prob(self, context: Sequence[str], word: str) -> float:
        """log10 p(word | context), backing off from the longest context the model has."""
        if (word,) not in self.logprobs[0]:
            word = UNK
        context = tuple(context[len(context) - self.order + 1 :]) if self.order > 1 else ()
        penalty = 0.0
        for start in range(len(context) + 1):
            history = context[start:]
            found = self.logprobs[len(history)].get((*history, word))
            if found is not None:
                return penalty + found
            penalty += self.backoffs[len(history) - 1].get(history, 0.0)
        return penalty + self.logprobs[0].get((UNK,), KENLM_UNK_LOG10)


def estimate(sentences: Iterable[Sequence[str]], order: int = 3) -> NgramModel:
    """Interpolated modified Kneser-Ney model of `order` from sentences given as word lists."""
    if order < 1:
        raise ValueError(f"an n-gram order must be at least 1, not {order}")
    raw = [Counter[Ngram]() for _ in range(order)]
    for words in sentences:
        padded = (BOS, *words, EOS)
        for n in range(1, order + 1):
            raw[n - 1].update(padded[i : i + n] for i in range(len(padded) - n + 1))
    raw[0].pop((BOS,), None)
    if not raw[0]:
        raise ValueError("no sentences to estimate a language model from")
    counts = _adjusted_counts(raw)
    vocabulary = {gram[0] for gram in counts[0]} | {UNK}
    logprobs: list[dict[Ngram, float]] = []
    backoffs: list[dict[Ngram, float]] = [{} for _ in range(order)]
    lower: dict[Ngram, float] = {}
    for n, grams in enumerate(counts, start=1):
        discount = _discounts(grams.values(), n)
        probs: dict[Ngram, float] = {}
        for context, followers in _by_context(grams).items():
            total = sum(followers.values())
            gamma = sum(discount[min(c, 3) - 1] for c in followers.values()) / total
            for word, count in followers.items():
                base = lower[(*context[1:], word)] if n > 1 else 1 / len(vocabulary)
                probs[(*context, word)] = (count - discount[min(count, 3) - 1]) / total + gamma * base
            if n > 1:
                backoffs[n - 2][context] = math.log10(gamma)
            else:
                probs.setdefault((UNK,), gamma / len(vocabulary))
        lower = probs
        logprobs.append({gram: math.log10(p) for gram, p in probs.items()})
    if order > 1:
        logprobs[0][(BOS,)] = ABSENT_LOG10
    return NgramModel(logprobs, backoffs)


def _adjusted_counts(raw: list[Counter[Ngram]]) -> list[dict[Ngram, int]]:
    """Raw counts at the top order and for n-grams starting with `<s>`; continuation counts below."""
    adjusted: list[dict[Ngram, int]] = [dict(raw[-1])]
    for n in range(len(raw) - 1, 0, -1):
        extensions = Counter(gram[1:] for gram in raw[n])
        adjusted.insert(0, {g: c if g[0] == BOS else extensions[g] for g, c in raw[n - 1].items()})
    return adjusted


def _discounts(counts: Iterable[int], order: int) -> tuple[float, float, float]:
    """Chen & Goodman's D1, D2, D3+ from the counts of counts; the fallback where they are undefined."""
    of = Counter(min(c, 5) for c in counts)
    t1, t2, t3, t4 = (of[k] for k in (1, 2, 3, 4))
    if min(t1, t2, t3, t4) > 0:
        y = t1 / (t1 + 2 * t2)
        found = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
        if all(0 < d < k for k, d in enumerate(found, start=1)):
            return found
    log.info(
        "order %d: counts of counts %s cannot give Kneser-Ney discounts; using %s",
        order,
        (t1, t2, t3, t4),
        FALLBACK_DISCOUNTS,
    )
    return FALLBACK_DISCOUNTS


def _by_context(grams: dict[Ngram, int]) -> dict[Ngram, dict[str, int]]:
    out: dict[Ngram, dict[str, int]] = defaultdict(dict)
    for gram, count in grams.items():
        out[gram[:-1]][gram[-1]] = count
    return out


def write_arpa(model: NgramModel, path: str | Path) -> Path:
    """Write `model` as an ARPA file (sorted, so the same model gives the same bytes), replaced
    whole."""
    path = Path(path)
    lines = ["\\data\\", *(f"ngram {n}={len(g)}" for n, g in enumerate(model.logprobs, start=1))]
    for n, grams in enumerate(model.logprobs, start=1):
        lines += ["", f"\\{n}-grams:"]
        for gram in sorted(grams):
            row = f"{grams[gram]:.6f}\t{' '.join(gram)}"
            if gram in model.backoffs[n - 1]:
                row += f"\t{model.backoffs[n - 1][gram]:.6f}"
            lines.append(row)
    lines += ["", "\\end\\", ""]
    with atomic_path(path) as partial:
        partial.write_text("\n".join(lines), encoding="utf-8")
    return path


def read_arpa(path: str | Path) -> NgramModel:
    """Parse an ARPA file, or raise LanguageModelError naming the file, line and problem."""
    path = Path(path)
    if not path.is_file():
        raise LanguageModelError(f"language model {path} does not exist: fix decoder.lm or build one")
    lines = _numbered_lines(path)
    expected = _header(path, lines)
    lines = lines[1 + len(expected) :]
    logprobs: list[dict[Ngram, float]] = [{} for _ in expected]
    backoffs: list[dict[Ngram, float]] = [{} for _ in expected]
    section = 0
    for number, line in lines:
        if line == "\\end\\":
            break
        if line.startswith("\\") and line.endswith("-grams:"):
            section = _section(path, number, line, len(expected))
            continue
        if section == 0:
            raise LanguageModelError(f"{path}:{number}: {line[:60]!r} is outside any \\N-grams: section")
        gram, logprob, backoff = _entry(path, number, line, section)
        logprobs[section - 1][gram] = logprob
        if backoff is not None:
            backoffs[section - 1][gram] = backoff
    else:
        raise LanguageModelError(f"{path}: no \\end\\ line: the file is truncated or not ARPA")
    for n, (want, got) in enumerate(zip(expected, logprobs, strict=True), start=1):
        if want != len(got):
            raise LanguageModelError(
                f"{path}: the header announces {want} {n}-grams, the file has {len(got)}"
            )
    if not logprobs[0]:
        raise LanguageModelError(f"{path}: no unigrams: not a usable language model")
    return NgramModel(logprobs, backoffs)


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise LanguageModelError(f"{path}: not UTF-8 text ({err}); binary KenLM models are not read") from err
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise LanguageModelError(f"{path} is empty: rebuild it with python scripts/build_lm.py")
    return lines


def _header(path: Path, lines: list[tuple[int, str]]) -> list[int]:
    """The n-gram counts announced by the \\data\\ section, in order."""
    if lines[0][1] != "\\data\\":
        raise LanguageModelError(f"{path}:{lines[0][0]}: expected \\data\\, found {lines[0][1][:60]!r}")
    counts: list[int] = []
    for number, line in lines[1:]:
        if not line.startswith("ngram "):
            break
        try:
            n, count = (int(x) for x in line.removeprefix("ngram ").split("="))
        except ValueError:
            raise LanguageModelError(f"{path}:{number}: unreadable header line {line!r}") from None
        if n != len(counts) + 1:
            raise LanguageModelError(f"{path}:{number}: expected the count of {len(counts) + 1}-grams")
        counts.append(count)
    if not counts:
        raise LanguageModelError(f"{path}: the \\data\\ section announces no n-gram counts")
    return counts


def _section(path: Path, number: int, line: str, order: int) -> int:
    try:
        n = int(line[1 : -len("-grams:")])
    except ValueError:
        raise LanguageModelError(f"{path}:{number}: unreadable section header {line!r}") from None
    if not 1 <= n <= order:
        raise LanguageModelError(f"{path}:{number}: section {line!r} beyond the header's order {order}")
    return n


def _entry(path: Path, number: int, line: str, n: int) -> tuple[Ngram, float, float | None]:
    fields = line.split()
    if len(fields) not in (n + 1, n + 2):
        raise LanguageModelError(
            f"{path}:{number}: a {n}-gram line needs a log10 probability, {n} words and an optional "
            f"back-off weight: {line[:80]!r}"
        )
    try:
        logprob = float(fields[0])
        backoff = float(fields[n + 1]) if len(fields) == n + 2 else None
    except ValueError:
        raise LanguageModelError(f"{path}:{number}: a number cannot be read in {line[:80]!r}") from None
    if not math.isfinite(logprob) or logprob > 0:
        raise LanguageModelError(f"{path}:{number}: log10 probability {fields[0]} is not a finite value <= 0")
    return tuple(fields[1 : n + 1]), logprob, backoff


def read_sentences(
    path: str | Path, tokenizer: CharTokenizer, on_error: OnError = OnError.RAISE
) -> list[list[str]]:
    """Word lists of a manifest's transcripts (`.json`/`.jsonl`) or of a text file's lines, each
    normalised by the tokenizer; a line outside its alphabet is bad input under `on_error`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text {path} does not exist: give a manifest or a text file")
    text = _manifest_text if path.suffix in (".json", ".jsonl") else str
    sentences = parse_lines(path, lambda line: tokenizer.normalize(text(line)).split(), "lines", on_error)
    if not any(sentences):
        raise ValueError(f"{path} has no words to build a language model from")
    return sentences


def _manifest_text(line: str) -> str:
    row = json.loads(line)
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise ValueError("a manifest row needs a 'text' string")
    return row["text"]


def build_lm(
    text: str | Path,
    out: str | Path,
    tokenizer: CharTokenizer,
    order: int = 3,
    lexicon: str | Path | None = None,
    on_error: OnError = OnError.RAISE,
) -> NgramModel:
    """Estimate an ARPA model of `text` (a manifest's transcripts or a text file) into `out`; with
    `lexicon`, also write the text's words there, one per line."""
    sentences = read_sentences(text, tokenizer, on_error)
    model = estimate(sentences, order)
    write_arpa(model, out)
    if lexicon is not None:
        write_lexicon((w for s in sentences for w in s), lexicon)
    log.info(
        "%d sentences of %s: %s written to %s",
        len(sentences),
        text,
        ", ".join(f"{len(g)} {n}-grams" for n, g in enumerate(model.logprobs, start=1)),
        out,
    )
    return model
