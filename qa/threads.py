"""One BLAS thread for the whole process, once an engine is loaded.

An answer multiplies small matrices (a question is a few tokens; a few dozen sentence vectors):
OpenBLAS's extra threads cost more than they gain there, and after each call they spin, waiting
for more work. Measured on 2 busy cores: embedding one question took 160 ms with two BLAS threads
and 18 ms with one, and the idle thread burned ~80 ms of CPU per answer. Questions asked at once
run in parallel as Python threads instead (NumPy and Chroma release the GIL).

The setting is process-wide and set once per BLAS library: threadpoolctl lets only the first thread
that sets OpenBLAS's limit change it later, so toggling it per question from server threads does
nothing. A library loaded later (SciPy's own OpenBLAS comes with bm25s, e.g. when `qa serve`
indexes an upload) is limited by the next engine that loads.
"""

from __future__ import annotations

import threading

_limited: set[str] = set()  # BLAS libraries (file paths) already set to one thread
_lock = threading.Lock()


def single_blas_thread() -> None:
    """Example: single_blas_thread(); threadpoolctl.threadpool_info()[0]["num_threads"] == 1."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with _lock:
        loaded = {lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "blas"}
        if loaded - _limited:
            threadpool_limits(limits=1, user_api="blas")
            _limited.update(loaded)
