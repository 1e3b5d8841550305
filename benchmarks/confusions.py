"""Which word became which in a result's beam errors, most common first: whether a model's errors
on a speaker are scattered (what more data or confident pseudo-labels can mend) or a few
systematic confusions (what self-training on its own hypotheses only confirms).

    python benchmarks/confusions.py RESULT [RESULT ...] [--top 4] [--pool]

RESULT is a file under benchmarks/results holding `errors` (benchmarks/fsdd.py's), `speakers`
with theirs (its --mean-of gathering: one row per speaker) or `members` with theirs
(benchmarks/ensemble.py's: one row per member). Prints one Markdown row per model: its
beam errors, the `--top` most common (reference -> hypothesis) pairs, and their share of the errors.
With --pool the results' models are pooled by position (the first of each file, the second, ...):
one speaker's halves, say, scored apart (speaker_adapt.py's folds through ensemble.py).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def confusions(errors: list[dict]) -> Counter:
    """(reference, beam hypothesis) pairs of the utterances the beam search got wrong."""
    return Counter((e["reference"], e["beam"]) for e in errors if e["beam"] != e["reference"])


def models(path: Path) -> list[tuple[str, list[dict]]]:
    """Each model's errors in a result file: the run's own, each speaker's run's, or every
    ensemble member's."""
    result = json.loads(path.read_text())
    if "errors" in result:
        return [("", result["errors"])]
    if "speakers" in result and all("errors" in r for r in result["speakers"]):
        return [(r["split"], r["errors"]) for r in result["speakers"]]
    if "members" in result:
        return [(f"member {n + 1}", m["errors"]) for n, m in enumerate(result["members"])]
    raise SystemExit(f"{path} holds no errors: give a result of fsdd.py or ensemble.py")


def row(name: str, counts: Counter, top: int) -> str:
    total = sum(counts.values())
    common = counts.most_common(top)
    pairs = ", ".join(f"{ref or '(nothing)'} -> {hyp or '(nothing)'} {n}" for (ref, hyp), n in common)
    share = sum(n for _, n in common) / total if total else 0.0
    return f"| {name} | {total} | {pairs} | {100 * share:.0f}% |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument("--pool", action="store_true", help="pool the results' models by position")
    args = parser.parse_args()
    print(f"| model | beam errors | the {args.top} most common | their share |\n|---|---:|---|---:|")
    each = [(path, models(path)) for path in args.results]
    if args.pool:
        if len({len(found) for _, found in each}) != 1:
            raise SystemExit("--pool needs results with as many models each")
        stems = " + ".join(path.stem for path, _ in each)
        for position, pooled in enumerate(zip(*(found for _, found in each), strict=True)):
            counts = sum((confusions(errors) for _, errors in pooled), Counter())
            print(row(f"{stems}, model {position + 1}", counts, args.top))
        return
    for path, found in each:
        for member, errors in found:
            print(row(path.stem + (f", {member}" if member else ""), confusions(errors), args.top))


if __name__ == "__main__":
    main()
