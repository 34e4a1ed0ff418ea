"""Cold start, the chat server's memory, and 8 chat users at once, each through its own process or client.

    with Server(articles, store) as server:        # `qa serve --port P`, from the command to ready
        server.ready_s, server.peak_rss_mb()
        users(server.url, questions, users=8)      # answers/s and latencies
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.measure import ROOT, env, peak_rss_mb, rss_mb


def cold_ask(articles: Path, store: Path, question: str, runs: int) -> list[float]:
    """Seconds for `qa ask QUESTION` in a fresh process, `runs` times (index already built)."""
    return [wall("-m", "qa.cli", "ask", "--articles", str(articles), "--store", str(store), question)
            for _ in range(runs)]


def cold_naive(store: Path, question: str, k: int, runs: int) -> list[float]:
    """Seconds for a fresh process to answer one question the naive way (LlamaIndex + torch + Chroma)."""
    import json

    args = json.dumps({"store": str(store), "question": question, "k": k})
    return [wall("-m", "bench.runs", "naive_cold", args) for _ in range(runs)]


def wall(*args: str) -> float:
    """Seconds for `python ARGS` in a fresh process, from start to exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True, env=env(), cwd=ROOT)
    return time.perf_counter() - start


class Server:
    """`qa serve` on a free port, started from the command line; stopped on exit."""

    def __init__(self, articles: Path, store: Path, timeout: float = 600) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "qa.cli", "serve", "--articles", str(articles), "--store", str(store),
                   "--port", str(self.port)]
        start = time.perf_counter()
        self.log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server never blocks on it
        self.process = subprocess.Popen(command, env=env(), cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        text=True)
        try:
            self.http_s = self._until(lambda: _http_ok(self.url), timeout) - start
            self.ready_s = self._until(lambda: _api_ok(self.url), timeout) - start
        except BaseException:
            self.__exit__()
            raise

    def _until(self, check: Any, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"qa serve exited ({self.process.returncode}): {self.log.read()[-2000:]}")
            if check():
                return time.perf_counter()
            time.sleep(0.05)
        raise TimeoutError(f"qa serve at {self.url} was not ready in {timeout:.0f} s")

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.process.pid)

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status) == 200
    except OSError:
        return False


def _api_ok(url: str) -> bool:
    """The chat API answers a question."""
    try:
        from gradio_client import Client

        return "text" in Client(url, verbose=False).predict("Who is the prime minister?", api_name="/chat")
    except Exception:  # noqa: BLE001 - not up yet
        return False


def users(url: str, asked: list[list[str]]) -> dict[str, Any]:
    """One chat user per list of questions, all at once, each with its own client; answers/s and latencies."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in asked]
    times: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(len(asked) + 1)

    def user(client: Client, questions: list[str]) -> None:
        barrier.wait()
        for q in questions:
            start = time.perf_counter()
            try:
                client.predict(q, api_name="/chat")
            except Exception as e:  # noqa: BLE001 - counted and reported, not fatal
                errors.append(f"{type(e).__name__}: {e}")
                continue
            times.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=user, args=(c, qs)) for c, qs in zip(clients, asked)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"users": len(asked), "answers": len(times), "errors": errors[:3], "error_count": len(errors),
            "seconds": wall, "answers_per_s": len(times) / wall, "ms": times,
            "median_ms": statistics.median(times) if times else float("nan")}
