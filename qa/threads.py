"""One BLAS thread while questions are answered, however many threads answer at once.

A question is a few tokens: OpenBLAS's thread pool costs more than it gains on matrices that
small, and when the cores are busy (other users, other programs) its waiting threads turn a 10 ms
embedding into 0.1-2 s. Concurrent questions run in parallel as Python threads instead (NumPy
releases the GIL). The limit is process-wide (it is OpenBLAS's setting), so it is set when the
first question starts and restored when the last one ends; bulk indexing in between keeps its threads.

    with one_blas_thread():
        vector = encoder.embed([question])
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_state: dict[str, Any] = {"active": 0, "limiter": None}


@contextmanager
def one_blas_thread() -> Iterator[None]:
    with _lock:
        if _state["active"] == 0:
            _state["limiter"] = _blas().limit(limits=1)
        _state["active"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["active"] -= 1
            if _state["active"] == 0:
                _state["limiter"].restore_original_limits()


@lru_cache(maxsize=1)
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")
