"""The ingestion side: load -> clean -> chunk -> embed -> store.

    from index import build_index
    report = build_index(settings)   # qa.config.Settings
"""

from typing import TYPE_CHECKING, Any

__all__ = ["IndexReport", "build_index"]

if TYPE_CHECKING:
    from index.pipeline import IndexReport, build_index


def __getattr__(name: str) -> Any:
    # Lazy, so the query side can use index.encoder or index.dates without loading the pipeline.
    if name in __all__:
        from index import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'index' has no attribute {name!r}")
