"""Shared fixtures: a real index of the five articles in a temporary folder, built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import build_index
from qa.config import PROJECT_DIR, Settings

ARTICLES = PROJECT_DIR / "articles"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's store, keys or servers."""
    for var in ("QA_ARTICLES", "QA_STORE", "QA_CHROMA_URL", "QA_EMBEDDING", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                "QA_HOST", "QA_PORT", "QA_UI_USER", "QA_UI_PASSWORD",
                "QA_LLM_MODEL", "QA_LLM_TIMEOUT", "QA_LLM_RETRIES", "QA_LLM_MAX_REPLY", "QA_PROFILE", "QA_ENCODER",
                "QA_SENTENCE_VECTORS", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH",
                "QA_LLM_GGUF", "QA_LLM_THREADS", "QA_LLM_CONTEXT", "QA_LLM_PASSAGES", "QA_LLM_PASSAGE_CHARS",
                "QA_LLM_MAX_TOKENS"):
        monkeypatch.delenv(var, raising=False)


def copy_articles(dest: Path) -> Path:
    shutil.copytree(ARTICLES, dest)
    return dest


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for an index of the five articles, built once per test session."""
    root = tmp_path_factory.mktemp("corpus")
    s = Settings(articles=copy_articles(root / "articles"), store=root / "store")
    build_index(s)
    return s


@pytest.fixture(scope="session")
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    import qa

    return qa.load(settings=settings)


@pytest.fixture
def fresh(tmp_path: Path) -> Settings:
    """A private copy of the articles and an empty store, for tests that change them."""
    return Settings(articles=copy_articles(tmp_path / "articles"), store=tmp_path / "store")
