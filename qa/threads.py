"""One BLAS thread for the whole process, once an engine is loaded.

An answer multiplies small matrices (a question is a few tokens; a few dozen sentence vectors):
OpenBLAS's extra threads cost more than they gain there, and after each call they spin, waiting
for more work. Measured on 2 busy cores: embedding one question took 160 ms with two BLAS threads
and 18 ms with one, and the idle thread burned ~80 ms of CPU per answer. Questions asked at once
run in parallel as Python threads instead (NumPy and Chroma release the GIL).

The setting is process-wide and set once: threadpoolctl lets only the first thread that sets
OpenBLAS's limit change it later, so toggling it per question from server threads does nothing.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def single_blas_thread() -> None:
    """Example: single_blas_thread(); threadpoolctl.threadpool_info()[0]["num_threads"] == 1."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
