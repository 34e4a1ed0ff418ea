"""Cleaning time against article length: ours and the all-pairs comparison it replaced, in one run.

    python -m bench.cleaning [--sizes 1000 2000 4000 8000] [--baseline-max 2000] [--out bench/cleaning.md]

The text: short paragraphs of words drawn from a seeded vocabulary, one in ten a near-verbatim copy
of an earlier one, as a long scraped page or a hostile upload would be. The baseline compares each
paragraph with every kept one (SequenceMatcher), as cleaning once did: quadratic, so it runs only up
to --baseline-max paragraphs.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

from index import clean as cleaning

OUT = Path(__file__).resolve().parent / "cleaning.md"


def text_of(paragraphs: int, seed: int = 5) -> str:
    """`paragraphs` lines of 8-30 words; every tenth an earlier line with one word changed."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(5000)]
    lines: list[str] = []
    for n in range(paragraphs):
        if n % 10 == 9:
            words = rng.choice(lines).rstrip(".").split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
        else:
            words = [rng.choice(vocab) for _ in range(rng.randint(8, 30))]
        lines.append(" ".join(words) + ".")
    return "\n\n".join(lines)


def all_pairs_clean(text: str) -> int:
    """The kept paragraphs (a count) when each is compared with every kept one: the baseline."""
    kept: list[list[str]] = []
    for span in cleaning.lines(text):
        words = cleaning._words(text[span.start : span.end])
        if not any(words == o or (min(len(words), len(o)) >= 8 and
                                  SequenceMatcher(None, words, o, autojunk=False).ratio() >= 0.85) for o in kept):
            kept.append(words)
    return len(kept)


def seconds(run: Callable[[str], int], text: str) -> tuple[float, int]:
    start = time.process_time()  # CPU time: on a shared machine wall time measures the neighbours too
    kept = run(text)
    return time.process_time() - start, kept


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.cleaning", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    p.add_argument("--baseline-max", type=int, default=2000)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    rows = ["| paragraphs | ours (CPU s) | ours per 1,000 (CPU s) | all-pairs baseline (CPU s) | baseline / ours "
            "| kept (same) |", "|---:|---:|---:|---:|---:|---|"]
    for n in args.sizes:
        text = text_of(n)
        ours, kept = seconds(lambda t: len(cleaning.clean(t).paragraphs), text)
        if n <= args.baseline_max:
            base, base_kept = seconds(all_pairs_clean, text)
            cells = f"{base:.2f} | {base / ours:.0f}x | {kept} ({'yes' if kept == base_kept else 'NO'})"
        else:
            cells = f"not run | | {kept}"
        rows.append(f"| {n:,} | {ours:.3f} | {ours / n * 1000:.3f} | {cells} |")
        print(rows[-1], flush=True)
    report = "\n".join([
        "# Cleaning time against article length",
        "",
        "`python -m bench.cleaning`: short paragraphs, one in ten a near-verbatim repeat. Ours finds repeat",
        "candidates by prefix filtering (index/clean.py, `_Repeats`); the baseline compares each paragraph",
        "with every kept one. Both keep the same paragraphs. Near-linear: the time per 1,000 paragraphs",
        "stays flat as the text grows.",
        "",
        *rows,
        "",
    ])
    args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
