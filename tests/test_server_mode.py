"""With QA_CHROMA_URL the product uses a Chroma server (`chroma run`) instead of the local store,
with the same behaviour: indexing, re-indexing, questions, and a clear error when it is down."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import qa
from index import build_index
from qa.config import Settings
from qa.errors import StoreError
from tests.conftest import copy_articles


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1 with its data in a temporary folder."""
    data, port = tmp_path_factory.mktemp("chroma-server"), _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(data / "server.log", "w")
    server = subprocess.Popen([str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, (data / "server.log").read_text()
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_index_and_ask_through_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    settings = Settings(articles=copy_articles(tmp_path / "articles"), store=tmp_path / "store",
                        chroma_url=chroma_url, collection="server-test")
    first = build_index(settings)
    assert len(first.added) == 5 and first.chunks_total > 0
    assert not (tmp_path / "store" / "chroma.sqlite3").exists()  # nothing went to the local store

    again = build_index(settings)
    assert again.chunks_embedded == 0 and again.chunks_total == first.chunks_total

    answer = qa.load(settings=settings).ask("When did Russia lift the ban on tourist flights to Turkey?")
    assert not answer.abstained and "June 30" in answer.text
    c = answer.citations[0]
    assert (settings.articles / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote

    (settings.articles / "000_3c12290efbff3d9b.txt").unlink()
    removed = build_index(settings)
    assert removed.removed == ["000_3c12290efbff3d9b.txt"]
    assert "000_3c12290efbff3d9b.txt" not in qa.load(settings=settings).ask(
        "What did Putin offer Turkish nationals after the airport attack?").retrieved


def test_a_server_that_is_down_gives_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(articles=tmp_path, store=tmp_path / "store", chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(StoreError, match="Cannot reach the Chroma server.*chroma run"):
        qa.load(settings=settings)
