"""Local mode: a GGUF model run by llama.cpp (the `xllamacpp` wheel), with no server for the user to start.

The product starts llama.cpp's own OpenAI-compatible server in a child process on 127.0.0.1 and
talks to it with the same client, prompt, check and fallbacks as any remote endpoint (`qa.llm`).
A child process, not a thread: a model that crashes or runs out of memory takes only itself down,
is restarted on the next question, and gives its memory back. The child exits when its parent
does (it reads its standard input until the parent closes it).

    python -m qa.local MODEL.gguf THREADS CONTEXT    # the child: prints its address once loaded
"""

from __future__ import annotations

import atexit
import importlib.util
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import openai

from qa.config import Settings
from qa.errors import ConfigError, LLMError
from qa.llm import LLM, explain

READY = "listening "  # the child's one line on stdout once the model is loaded
_LOCK = threading.Lock()
_SERVERS: dict[tuple[Path, int, int], LocalServer] = {}  # one child per model and settings, per process


class LocalServer:
    """One llama.cpp server process for one GGUF file. `url` once it has loaded the model."""

    def __init__(self, gguf: Path, threads: int, context: int) -> None:
        self.gguf, self.threads, self.context = gguf, threads, context
        self.process: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self.ready = threading.Event()
        self._log: IO[str] | None = None
        self._failed = ""  # why the last start ended before the model was loaded

    @classmethod
    def shared(cls, settings: Settings) -> LocalServer:
        """The process's server for these settings, started on first use (engines reloaded after an
        upload share it rather than load the model again)."""
        assert settings.llm_gguf is not None
        key = (settings.llm_gguf, max(1, settings.llm_threads), settings.llm_context)
        with _LOCK:
            if key not in _SERVERS:
                _SERVERS[key] = cls(*key)
                _SERVERS[key].start()
            return _SERVERS[key]

    def start(self) -> None:
        """Start the child; it loads the model in the background (`ready` is set once it has)."""
        self.url, self._failed = None, ""
        self.ready.clear()
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa.local", str(self.gguf), str(self.threads), str(self.context)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        threading.Thread(target=self._await_address, args=(self.process,), daemon=True, name="qa-local").start()

    def _await_address(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.startswith(READY):
            self.url = line[len(READY) :].strip() + "/v1"
            self.ready.set()
        else:
            process.wait()
            self._failed = self._last_log_line() or f"exit code {process.returncode}"

    def endpoint(self) -> str:
        """The server's URL, or an LLMError saying why there is none yet (loading, failed, stopped)."""
        process = self.process
        if process is None:
            raise LLMError(f"the local model {self.gguf.name} was stopped: restart qa")
        if process.poll() is not None and not self._failed:
            code = process.returncode
            self.start()
            how = f"was killed (signal {-code})" if code < 0 else f"stopped (exit code {code})"
            raise LLMError(f"the local model {how}; it is being restarted: try again in a moment")
        if self._failed:
            raise LLMError(f"the local model {self.gguf.name} could not be loaded ({self._failed}): "
                           "check that QA_LLM_GGUF is a GGUF chat model")
        if not self.ready.is_set() or self.url is None:
            raise LLMError(f"the local model {self.gguf.name} is still loading: try again in a moment")
        return self.url

    def wait(self, timeout: float) -> None:
        """Block until the model is loaded (or failed to load, or `timeout` seconds passed)."""
        deadline = time.monotonic() + timeout
        while self.process is not None and not self._failed and time.monotonic() < deadline:
            if self.ready.wait(0.05):
                return

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()

    def _last_log_line(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().splitlines() if line.strip()]
        errors = [line for line in lines if " E " in line or "error" in line.lower()]
        return (errors or lines or [""])[-1][-200:]


class LocalLLM(LLM):
    """The LLM client pointed at the local server; what it cannot do yet becomes an LLMError."""

    def __init__(self, settings: Settings) -> None:
        gguf = check_gguf(settings.llm_gguf)
        super().__init__(settings)
        self.model = gguf.stem
        self.server = LocalServer.shared(settings)
        self.threads, self.context = self.server.threads, self.server.context
        self.options["temperature"] = 0.0  # the likeliest words: a small model's samples wander off the passages
        self._clients: dict[str, openai.OpenAI] = {}

    def describe(self) -> str:
        threads = f"{self.threads} thread{'s' if self.threads > 1 else ''}"
        return f"LLM: local {self.model} (llama.cpp, {threads}, {self.context}-token context)"

    def wait(self, timeout: float = 120.0) -> None:
        self.server.wait(timeout)

    def _endpoint(self) -> openai.OpenAI:
        url = self.server.endpoint()
        self.base_url = url
        if url not in self._clients:
            self._clients[url] = openai.OpenAI(api_key="local", base_url=url, timeout=self.timeout, max_retries=0)
        return self._clients[url]

    def _explain(self, e: Exception) -> LLMError:
        """As for any endpoint, but in words about the local model, and no cooldown: a model that died
        is restarted at once, and one that was slow is free again as soon as the request is dropped."""
        if isinstance(e, LLMError):
            return e
        if isinstance(e, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
            return LLMError(f"the local model gave no reply within {self.timeout:g} s: raise QA_LLM_TIMEOUT, "
                            "give it fewer passages (QA_LLM_PASSAGES) or use a smaller model")
        if isinstance(e, openai.APIConnectionError | httpx.TransportError):
            try:
                self.server.endpoint()  # says so when the process died, and restarts it
            except LLMError as why:
                return why
        return LLMError(explain(e, self.model, self.base_url, self.timeout))


def check_gguf(path: Path | None) -> Path:
    """The GGUF file to run, after checking that it and llama.cpp are there."""
    if path is None or not path.is_file():
        raise ConfigError(f"QA_LLM_GGUF={path} is not a file: give the path of a downloaded .gguf model, "
                          "or unset it for offline answers.")
    if importlib.util.find_spec("xllamacpp") is None:
        raise ConfigError("Local mode needs llama.cpp: pip install -e '.[local]' (or unset QA_LLM_GGUF).")
    return path


def _stop_all() -> None:
    for server in list(_SERVERS.values()):
        server.stop()


atexit.register(_stop_all)


def main(argv: list[str]) -> int:
    """The child: load the model, serve on a free port of 127.0.0.1, say where, live while the parent does."""
    import xllamacpp as xlc

    gguf, threads, context = argv[0], int(argv[1]), int(argv[2])
    params = xlc.CommonParams()
    params.model.path = gguf
    params.n_ctx = context
    params.n_parallel = 1  # one answer at a time; a second question waits in llama.cpp's queue
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.warmup = False
    params.ui = False
    server = xlc.Server(params)
    print(READY + server.listening_address, flush=True)
    sys.stdin.read()  # until the parent exits or closes the pipe
    del server
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
