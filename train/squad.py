"""SQuAD 2.0 as (question, sentence, label) rows, split by article.

The data: `../shared/data/squad2/train.json`, SQuAD 2.0 questions of 11 Wikipedia articles (CC BY-SA 4.0).
A sentence is labelled 1 when an answer of the question starts inside it; every sentence of an
unanswerable question's paragraph is labelled 0 (SQuAD 2.0 wrote those questions to look answerable there).

    rows = pairs(load(path), TRAIN, seed=13)   # [Pair(question, title, sentence, label), ...]
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from index.sentences import split_sentences
from index.spans import Span

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "squad2" / "train.json"
# Split by article: the model never sees the validation articles; thresholds are set on TUNE.
VALIDATION = ("Huguenot", "Packet_switching", "Force")
TUNE = ("Scottish_Parliament",)
OTHER_NEGATIVES = 2  # sentences of another paragraph of the same article, per question


@dataclass(frozen=True)
class Paragraph:
    title: str
    text: str
    sentences: list[Span]
    questions: list[dict]  # SQuAD's "qas" entries


@dataclass(frozen=True)
class Pair:
    question: str
    title: str
    sentence: str
    label: int


def load(path: Path = DEFAULT_DATA) -> dict[str, list[Paragraph]]:
    """Article title -> its paragraphs, each split into sentences as the index splits articles."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles: dict[str, list[Paragraph]] = {}
    for article in data:
        title = article["title"]
        articles[title] = [Paragraph(title.replace("_", " "), p["context"], _sentences(p["context"]), p["qas"])
                           for p in article["paragraphs"]]
    return articles


def _sentences(text: str) -> list[Span]:
    return split_sentences(text, [Span(0, len(text))])


def train_titles(articles: dict[str, list[Paragraph]]) -> list[str]:
    return [t for t in articles if t not in VALIDATION and t not in TUNE]


def answer_sentences(paragraph: Paragraph, qa: dict) -> set[int]:
    """Indices of the sentences an answer of `qa` starts in (empty when it is unanswerable)."""
    starts = {a["answer_start"] for a in qa.get("answers", [])}
    return {i for i, s in enumerate(paragraph.sentences) if any(s.start <= a < s.end for a in starts)}


def pairs(articles: dict[str, list[Paragraph]], titles: list[str] | tuple[str, ...], seed: int) -> list[Pair]:
    """Every sentence of each question's paragraph, plus a few of another paragraph, labelled."""
    rng = random.Random(seed)
    rows: list[Pair] = []
    for title in titles:
        paragraphs = articles[title]
        for k, p in enumerate(paragraphs):
            others = [q for j, q in enumerate(paragraphs) if j != k]
            for qa in p.questions:
                gold = answer_sentences(p, qa)
                for i, s in enumerate(p.sentences):
                    rows.append(Pair(qa["question"], p.title, p.text[s.start : s.end], int(i in gold)))
                for _ in range(OTHER_NEGATIVES):
                    o = rng.choice(others)
                    s = rng.choice(o.sentences)
                    rows.append(Pair(qa["question"], o.title, o.text[s.start : s.end], 0))
    rng.shuffle(rows)
    return rows
