"""How well the citation check (``rag.answering.support.judge``) tells a sentence its cited
words support from one they do not, on labelled (sentence, cited words) pairs: precision and
recall of "unsupported", overall and per kind of change (docs/answers.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answering.support import Judgement, judge

Judge = Callable[[str, list[str], list[str]], Judgement]
GOLD = Path(__file__).resolve().parents[2] / "eval" / "gold" / "claims.jsonl"


@dataclass(frozen=True)
class Pair:
    id: str
    split: str  # "dev" (the checks were calibrated on it) or "test" (scored once)
    source: str
    speakers: tuple[str, ...]  # whose words the cited text is, as its document's metadata names them
    cited: str
    claim: str
    supported: bool
    kind: str


def load_pairs(path: Path, split: str | None = None) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            pairs.append(
                Pair(r["id"], r["split"], r["source"], tuple(r["speakers"]), r["cited"], r["claim"],
                     bool(r["supported"]), r["kind"])
            )  # fmt: skip
    return [p for p in pairs if split in (None, p.split)]


def score(pairs: Iterable[Pair], check: Judge = judge) -> dict[str, Any]:
    """Precision and recall of "unsupported", and how often each kind of pair was judged right."""
    flagged = right_flags = missed = 0
    per_kind: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    wrong = []
    for p in pairs:
        unsupported = not check(p.claim, [p.cited], list(p.speakers)).supported
        totals[p.kind] += 1
        if unsupported == (not p.supported):
            per_kind[p.kind] += 1
        else:
            wrong.append(p)
        flagged += unsupported
        right_flags += unsupported and not p.supported
        missed += (not unsupported) and not p.supported
    truly = right_flags + missed
    return {
        "pairs": sum(totals.values()),
        "precision": right_flags / flagged if flagged else 1.0,
        "recall": right_flags / truly if truly else 1.0,
        "per_kind": {k: (per_kind[k], totals[k]) for k in sorted(totals)},
        "wrong": wrong,
    }


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--split", choices=("dev", "test"))
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args(argv)
    result = score(load_pairs(args.pairs, args.split))
    precision, recall = result["precision"], result["recall"]
    print(f"{result['pairs']} pairs: unsupported precision {precision:.3f}, recall {recall:.3f}")
    print(f"{'kind':<20} {'judged right':>12}")
    for kind, (right, total) in result["per_kind"].items():
        print(f"{kind:<20} {right:>5} of {total:<5}")
    if args.show_wrong:
        for p in result["wrong"]:
            verdict = judge(p.claim, [p.cited], list(p.speakers))
            print(
                f"\n{p.id} {p.kind} labelled {'supported' if p.supported else 'unsupported'}: {verdict.why}"
            )
            print(f"  claim: {p.claim}\n  cited: {' '.join(p.cited.split())[:300]}")


if __name__ == "__main__":
    main()
