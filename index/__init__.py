"""The ingestion side: load -> clean -> chunk -> embed -> store.

    from index import build_index
    report = build_index(settings)   # qa.config.Settings
"""

from index.pipeline import IndexReport, build_index

__all__ = ["IndexReport", "build_index"]
