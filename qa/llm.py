"""The LLM client: one OpenAI-compatible endpoint; every call ends within `llm_timeout` seconds.

Retries are made here and only here: the SDK's own are off (`max_retries=0`), so nothing
multiplies them. A retry (after a 429, a 5xx or a refused connection) is made only when its wait
fits in what is left of the timeout, and at most `llm_retries` times. A stall is cut at the
deadline even mid-stream. Every failure becomes an `LLMError` whose message says what to do.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import openai

from qa.config import Settings
from qa.errors import LLMError, LLMSkipped

OPENAI_URL = "https://api.openai.com/v1"
COOLDOWN = 30.0  # seconds: after a timeout or an unreachable server, fail fast instead of waiting again
Messages = list[dict[str, str]]


class LLM:
    """Chat completions from one model, whole (`complete`) or as they arrive (`stream`)."""

    def __init__(self, settings: Settings) -> None:
        self.model = settings.llm_model
        self.base_url = settings.openai_base_url or OPENAI_URL
        self.timeout = settings.llm_timeout
        self.retries = max(0, settings.llm_retries)
        self.client = openai.OpenAI(api_key=settings.openai_api_key or "none", base_url=self.base_url,
                                    timeout=self.timeout, max_retries=0)
        self._down: tuple[float, LLMError] | None = None  # (until, why): the endpoint just failed
        _, _, max_tokens = settings.llm_budget
        self.options: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}

    def describe(self) -> str:
        return f"LLM: {self.model} at {self.base_url}"

    def complete(self, messages: Messages) -> str:
        """The whole reply, from one JSON response."""
        return "".join(self._bounded(lambda budget: self._once(messages, budget)))

    def stream(self, messages: Messages) -> Iterator[str]:
        """The reply in pieces as the server sends them (server-sent events)."""
        yield from self._bounded(lambda budget: self._chunks(messages, budget))

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the model can answer: a remote one always can (see `qa.local`)."""

    def _endpoint(self) -> openai.OpenAI:
        """The client for this request; `qa.local` overrides it to reach a server it started."""
        return self.client

    def _once(self, messages: Messages, budget: float) -> Iterator[str]:
        reply = self._endpoint().chat.completions.create(model=self.model, messages=cast(Any, messages),
                                                         timeout=budget, **self.options)
        content = reply.choices[0].message.content
        if not isinstance(content, str):
            raise _Malformed("no text in the reply")
        yield content

    def _chunks(self, messages: Messages, budget: float) -> Iterator[str]:
        events = self._endpoint().chat.completions.create(model=self.model, messages=cast(Any, messages),
                                                          timeout=budget, stream=True, **self.options)
        with events:
            for event in events:
                if not isinstance(event.choices, list):
                    raise _Malformed("a stream event without choices")
                for choice in event.choices:
                    if choice.delta.content:
                        yield choice.delta.content

    def _bounded(self, request: Callable[[float], Iterator[str]]) -> Iterator[str]:
        """Run `request(seconds left)` with retries, all within one deadline."""
        if self._down and time.monotonic() < self._down[0]:
            until = time.strftime("%H:%M:%S", time.localtime(time.time() + self._down[0] - time.monotonic()))
            raise LLMSkipped(f"the LLM is skipped until {until}, as it failed moments ago ({self._down[1]}); "
                             "no request was sent")
        deadline = time.monotonic() + self.timeout
        for attempt in range(self.retries + 1):
            started = False
            try:
                for piece in _before(deadline, lambda: request(deadline - time.monotonic())):
                    started = True
                    yield piece
                return
            except Exception as e:  # noqa: BLE001 - every failure becomes one LLMError
                wait = _retry_wait(e, attempt)
                if started or attempt == self.retries or wait is None or time.monotonic() + wait >= deadline:
                    raise self._explain(e) from None
                time.sleep(wait)

    def _explain(self, e: Exception) -> LLMError:
        if isinstance(e, LLMError):
            return e  # already says what to do (the local model is loading, say)
        err = LLMError(explain(e, self.model, self.base_url, self.timeout))
        if isinstance(e, openai.APIConnectionError | httpx.TransportError | TimeoutError):
            self._down = (time.monotonic() + COOLDOWN, err)
        return err


class _Malformed(Exception):
    """The reply is not what the chat completions API sends."""


def _before(deadline: float, produce: Callable[[], Iterator[str]]) -> Iterator[str]:
    """The items of `produce()`, made in a worker thread, or TimeoutError at the deadline."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in produce():
                if stop.is_set():
                    return  # the reader gave up; leaving the loop closes the stream
                box.put(("item", item))
            box.put(("end", None))
        except Exception as e:  # noqa: BLE001 - handed to the reader
            box.put(("error", e))

    threading.Thread(target=work, daemon=True, name="qa-llm").start()
    try:
        while True:
            try:
                kind, value = box.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _retry_wait(e: Exception, attempt: int) -> float | None:
    """Seconds to wait before retrying after `e`, or None when retrying cannot help."""
    backoff = 0.5 * 2**attempt
    if isinstance(e, openai.RateLimitError):
        after = retry_after(e.response)
        return backoff if after is None else after
    if isinstance(e, openai.InternalServerError) or type(e) is openai.APIConnectionError:
        return backoff
    return None


def retry_after(response: httpx.Response) -> float | None:
    """The server's requested wait. Example: headers {"retry-after": "3"} -> 3.0."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(response.headers[name]) * scale
        except (KeyError, ValueError):
            continue
    return None


def explain(e: Exception, model: str, base_url: str, timeout: float) -> str:
    """One line: what went wrong with the LLM and what to do about it."""
    if isinstance(e, openai.AuthenticationError | openai.PermissionDeniedError):
        return "the API key was rejected: check OPENAI_API_KEY"
    if isinstance(e, openai.RateLimitError):
        after = retry_after(e.response)
        return f"rate limited: try again in {after:.0f} s" if after else "rate limited: try again in a minute"
    if isinstance(e, openai.NotFoundError):
        return f"model {model!r} not found at {base_url}: check QA_LLM_MODEL and OPENAI_BASE_URL"
    if isinstance(e, openai.APIStatusError):
        if e.status_code >= 500:
            return f"the LLM server failed (HTTP {e.status_code}): try again later"
        return f"the LLM server refused the request (HTTP {e.status_code}): check QA_LLM_MODEL and OPENAI_BASE_URL"
    if isinstance(e, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return f"no reply within {timeout:g} s: check OPENAI_BASE_URL or raise QA_LLM_TIMEOUT"
    if isinstance(e, openai.APIConnectionError | httpx.TransportError):
        return f"cannot reach {base_url}: check OPENAI_BASE_URL and that the server is running"
    if isinstance(e, _Malformed | json.JSONDecodeError | openai.APIResponseValidationError | AttributeError
                  | TypeError | KeyError | IndexError | ValueError):
        return f"the LLM server sent a malformed reply: check that {base_url} is an OpenAI-compatible API"
    return f"the LLM failed ({type(e).__name__}): check OPENAI_BASE_URL and QA_LLM_MODEL"
