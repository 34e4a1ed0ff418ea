"""Question files: one JSON object per line, checked as they are read.

    {"id": "q001", "question": "...", "answer": "reference answer", "sources": ["001_1dfbcbbfd773fe7a.txt"],
     "facts": ["June 30", "tourist|tourism"], "category": "single", "answerable": true, "history": []}

Only `question` is always required; an answerable question also needs `facts` and `sources`. The rest
may be left out: `answer` (token F1 is then measured over the questions that have one), `id` ("line N"),
`history` ([]), `answerable` (true unless the category is "unanswerable"), `category` ("general").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError

CATEGORIES = ("single", "multi", "temporal", "conflict", "unanswerable", "followup")
# Each field's type and its default when a line leaves it out; `question` alone is always required,
# and an answerable question also needs the facts and gold sources it is scored by.
_FIELDS: dict[str, type] = {
    "id": str, "question": str, "answer": str, "sources": list, "facts": list,
    "category": str, "answerable": bool, "history": list,
}  # fmt: skip
_EXAMPLE = '{"question": "When was the coup attempt?", "facts": ["July 15"], "sources": ["001.txt"]}'


class QuestionFileError(QAError):
    """A question file is missing or a line of it is malformed."""


@dataclass(frozen=True)
class Question:
    id: str  # default: "line N"
    question: str
    answer: str | None  # the reference answer, for token F1; None when the file gives none
    sources: list[str]  # gold article files
    facts: list[str]  # each must occur in a correct answer; "a|b" accepts either
    category: str  # default: "unanswerable" for an unanswerable question, else "general"
    answerable: bool  # default: false in the "unanswerable" category, else true
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
        raise QuestionFileError(f"{path} holds no questions; write one JSON object per line, e.g. {_EXAMPLE}")
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
        raise QuestionFileError(f"{where} is not a JSON object; write one per line, e.g. {_EXAMPLE}")
    if not isinstance(data.get("question"), str) or not data["question"].strip():
        raise QuestionFileError(f"{where}: 'question' is missing or empty; every line needs one, e.g. {_EXAMPLE}")
    data = {**_defaults(n, data), **{k: v for k, v in data.items() if v is not None}}
    for name, kind in _FIELDS.items():
        if name in data and not isinstance(data[name], kind):
            raise QuestionFileError(f"{where}: {name!r} must be a {_kind(kind)}.")
    for name in ("sources", "facts", "history"):
        if not all(isinstance(x, str) and x.strip() for x in data[name]):
            raise QuestionFileError(f"{where}: every item of {name!r} must be non-empty text.")
    if data["answerable"] and not data["sources"]:
        raise QuestionFileError(f"{where}: an answerable question needs at least one gold source "
                                '(e.g. "sources": ["001.txt"], the article files that answer it).')
    if data["answerable"] and not data["facts"]:
        raise QuestionFileError(f"{where}: an answerable question needs 'facts', the words a correct answer must "
                                'hold (e.g. ["July 15"]); for one the articles do not answer, set "answerable": false.')
    return Question(**{name: data.get(name) for name in _FIELDS})  # type: ignore[arg-type]


def _defaults(n: int, data: dict[str, Any]) -> dict[str, Any]:
    """What a line may leave out. Example: line 3 without an id -> "line 3"; no category -> "general"."""
    answerable = data.get("category") != "unanswerable"
    if isinstance(data.get("answerable"), bool):
        answerable = data["answerable"]
    return {"id": f"line {n}", "sources": [], "facts": [], "history": [], "answerable": answerable,
            "category": "general" if answerable else "unanswerable"}


def _kind(kind: type) -> str:
    return {str: "string", list: "list", bool: "true/false"}.get(kind, kind.__name__)
