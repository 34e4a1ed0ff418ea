"""Question files: one JSON object per line, checked as they are read.

    {"id": "q001", "question": "...", "answer": "reference answer", "sources": ["001_1dfbcbbfd773fe7a.txt"],
     "facts": ["June 30", "tourist|tourism"], "category": "single", "answerable": true, "history": []}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError

CATEGORIES = ("single", "multi", "temporal", "conflict", "unanswerable", "followup")
_FIELDS: dict[str, type] = {
    "id": str, "question": str, "answer": str, "sources": list, "facts": list,
    "category": str, "answerable": bool, "history": list,
}  # fmt: skip


class QuestionFileError(QAError):
    """A question file is missing or a line of it is malformed."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str  # the reference answer
    sources: list[str]  # gold article files
    facts: list[str]  # each must occur in a correct answer; "a|b" accepts either
    category: str
    answerable: bool
    history: list[str] = field(default_factory=list)  # earlier questions of the same conversation


def load_questions(path: str | Path) -> list[Question]:
    """The questions of a file, in file order; a QuestionFileError names the first bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise QuestionFileError(f"Cannot read the question file {path}: {e.strerror}. Pass --questions FILE.") from None
    questions = [_parse(path, n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not questions:
        raise QuestionFileError(f"{path} holds no questions; write one JSON object per line.")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise QuestionFileError(f"{path}: the id {q.id!r} is used twice; give each question its own id.")
        seen.add(q.id)
    return questions


def _parse(path: Path, n: int, line: str) -> Question:
    where = f"{path.name} line {n}"
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise QuestionFileError(f"{where} is not JSON ({e.msg}); write one JSON object per line.") from None
    if not isinstance(data, dict):
        raise QuestionFileError(f"{where} is not a JSON object.")
    for name, kind in _FIELDS.items():
        if not isinstance(data.get(name), kind):
            raise QuestionFileError(f"{where}: {name!r} is missing or not a {_kind(kind)}.")
    for name in ("sources", "facts", "history"):
        if not all(isinstance(x, str) and x.strip() for x in data[name]):
            raise QuestionFileError(f"{where}: every item of {name!r} must be non-empty text.")
    if data["answerable"] and not data["sources"]:
        raise QuestionFileError(f"{where}: an answerable question needs at least one gold source.")
    return Question(**{name: data[name] for name in _FIELDS})


def _kind(kind: type) -> str:
    return {str: "string", list: "list", bool: "true/false"}.get(kind, kind.__name__)
