"""Question answering over news articles, with citations checked against the files.

    import qa
    engine = qa.load()
    answer = engine.ask("When did Russia lift the ban on tourist flights to Turkey?")
    print(answer.text, answer.citations)
"""

from typing import TYPE_CHECKING, Any

__all__ = ["Answer", "Citation", "Engine", "QAError", "Settings", "load"]

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.engine import Engine, load
    from qa.errors import QAError
    from qa.schema import Answer, Citation


def __getattr__(name: str) -> Any:
    # Lazy, so `import qa.config` (which the indexer needs) does not load the query engine.
    if name in ("Engine", "load"):
        from qa import engine

        return getattr(engine, name)
    if name in ("Answer", "Citation"):
        from qa import schema

        return getattr(schema, name)
    if name == "Settings":
        from qa.config import Settings

        return Settings
    if name == "QAError":
        from qa.errors import QAError

        return QAError
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
