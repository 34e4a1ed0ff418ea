"""Span: a half-open character range [start, end) of an article's text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Characters text[start:end]. Example: Span(0, 5) of "Hello world" is "Hello"."""

    start: int
    end: int
