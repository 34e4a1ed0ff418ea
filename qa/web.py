"""The web UI (Gradio): a chat with cited answers, a sources panel, and articles added by upload.

    python ui.py        # or `qa serve`; http://127.0.0.1:7860 unless QA_HOST / QA_PORT say otherwise

One engine serves every browser session; each session keeps its own conversation (`gr.State`).
`/chat` is the API: `gradio_client.Client(url).predict(question, api_name="/chat")` -> Answer dict; a follow-up
passes the earlier turns too: `predict(question, [first_answer], api_name="/chat")`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

import qa
from qa import render
from qa.chat import Chat
from qa.config import PROJECT_DIR, Settings
from qa.errors import ConfigError, QAError, QuestionError
from qa.schema import Answer

log = logging.getLogger("qa.web")
EXAMPLES = [
    "When did Russia lift the ban on tourist flights to Turkey?",
    "What did Putin criticise Kyiv for?",
    "Has Turkey ever applied to join the European Union?",
    "When was the coup attempt in Turkey?",
]
UNEXPECTED = "Something went wrong while answering; the server log has the details. Try again or rephrase."
SHOWN_QUESTION_CHARS = 300  # of a very long question echoed in the chat
MAX_HISTORY_CHARS = 200_000  # of the earlier turns passed to /chat, as JSON: dozens of answers with their quotes
WATCH_SECONDS = 2.0  # how often the server looks for an index written by `qa index`
Turns = list[tuple[str, Answer]]
Messages = list[dict[str, str]]
CSS = """
.cite { font-weight: 600; text-decoration: none; }
.abstained { color: var(--body-text-color-subdued); font-style: italic; }
.error { color: var(--error-text-color, #b91c1c); }
.unsupported { color: var(--error-text-color, #b45309); font-size: 0.9em; }
.notice { font-size: 0.9em; color: var(--body-text-color-subdued); }
.source { border-left: 3px solid var(--border-color-primary); padding: 0.2em 0.8em; margin-bottom: 1em; }
.source:target { border-left-color: var(--color-accent); background: var(--background-fill-secondary); }
.turn .asked { font-weight: 600; margin: 0.6em 0 0.3em; }
.source .meta, .sources-empty { font-size: 0.9em; color: var(--body-text-color-subdued); }
.source .file { font-family: var(--font-mono); font-size: 0.9em; }
mark.quote { background: #fde68a; color: #111; padding: 0 0.1em; }
"""


class Service:
    """The engine behind the UI. When the index changes (an upload here, or `qa index` elsewhere),
    a new engine is loaded off the request path and swapped in; questions meanwhile get the old one."""

    def __init__(self, settings: Settings, engine: qa.Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or qa.load(settings=settings)
        self._writing = threading.Lock()
        self._reloading = threading.Lock()
        self._failed = ""  # a generation that could not be loaded: not tried again

    def current(self) -> qa.Engine:
        """The engine to answer with; starts loading a newer index if `qa index` wrote one."""
        from index.store import generation

        latest = generation(self.settings)
        if latest not in (self.engine.generation, self._failed) and self._reloading.acquire(blocking=False):
            threading.Thread(target=self._reload, args=(latest,), name="qa-reload", daemon=True).start()
        return self.engine

    def watch(self, seconds: float = WATCH_SECONDS) -> None:
        """Look for a newer index every `seconds`, so answers switch without waiting for a question."""

        def loop() -> None:
            while True:
                time.sleep(seconds)
                try:
                    self.current()
                except Exception:  # noqa: BLE001 - a bad moment of the store must not stop the watching
                    log.exception("looking for a new index failed; trying again in %g s", seconds)

        threading.Thread(target=loop, name="qa-watch", daemon=True).start()

    def _reload(self, latest: str) -> None:
        try:
            self.engine = qa.load(settings=self.settings, build=False)
            log.info("loaded the index written at generation %s", self.engine.generation)
        except Exception:
            self._failed = latest
            log.exception("loading the new index failed; still answering from the previous one")
        finally:
            self._reloading.release()

    def status(self) -> str:
        s = self.engine.stats
        llm = self.engine.llm
        mode = f"LLM ({llm.describe().removeprefix('LLM: ')})" if llm else "offline (extractive, no LLM)"
        return f"**Mode:** {mode} · **Index:** {s['articles']} articles, {s['chunks']} chunks"

    def article_rows(self) -> list[list[str]]:
        return [[a["date"] or "unknown", a["source"], a["title"], a["outlet"]] for a in self.engine.articles()]

    def add(self, paths: list[Path]) -> str:
        """Save uploads into the articles folder, update the index, and load the new index."""
        from index import build_index
        from qa.uploads import add_articles

        with self._writing:
            saved = add_articles(paths, self.settings)
            report = build_index(self.settings, wait=log.info)  # after a `qa index` running elsewhere
            with self._reloading:
                self.engine = qa.load(settings=self.settings, build=False)
        notes = [n for n in [f"{source}: {why}" for source, why in report.skipped] + report.warnings
                 if any(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", n) for name in saved)]
        added = ", ".join(f"`{name}`" for name in saved)
        return f"Added {added}; the index now has {self.engine.stats['articles']} articles." + "".join(
            f"\n\n⚠ {render.escape(n)}" for n in notes
        )


def respond(service: Service, question: str, messages: Messages, turns: Turns) -> Iterator[tuple[Any, ...]]:
    """Stream one answer into the chat; on the final Answer fill the sources panel."""
    if not question.strip():
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()  # Enter in an empty box: nothing to ask
        return
    shown = question if len(question) <= SHOWN_QUESTION_CHARS else question[:SHOWN_QUESTION_CHARS] + "…"
    shown = shown.encode("utf-8", "replace").decode()  # a lone surrogate cannot be sent back as JSON: "?"
    messages = [*messages, {"role": "user", "content": render.escape(shown)}, {"role": "assistant", "content": ""}]
    chat = Chat(service.current(), turns)
    turn, text = len(turns) + 1, ""
    try:
        for piece in chat.stream(question):
            if isinstance(piece, Answer):
                messages[-1]["content"] = render.answer_html(piece, turn)
                done = [*turns, (question, piece)]  # Chat records the turn only after this yield
                yield messages, render.sources_html([a for _, a in done], service.settings.articles), done, ""
            else:
                text += piece
                messages[-1]["content"] = render.partial_html(text, turn)
                yield messages, gr.skip(), gr.skip(), ""
    except QAError as e:
        messages[-1]["content"] = render.error_html(str(e))
        yield messages, gr.skip(), turns, question
    except Exception:
        log.exception("answering %r failed", question[:200])
        messages[-1]["content"] = render.error_html(UNEXPECTED)
        yield messages, gr.skip(), turns, question


def api_answer(service: Service, question: str, history: list[Any] | None = None) -> dict[str, Any]:
    """One question, after the earlier turns of its conversation if any: the Answer as a dict (text,
    citations, abstained, ...). The caller keeps the conversation: see `qa.chat.turns_from`."""
    try:
        check_history(history or [])
        return service.current().chat(history or ()).ask(question).to_dict()
    except QAError as e:
        raise gr.Error(str(e), print_exception=False) from None
    except Exception:
        log.exception("API question %r failed", question[:200])
        raise gr.Error(UNEXPECTED, print_exception=False) from None


def check_history(history: list[Any]) -> None:
    """A /chat history within MAX_HISTORY_CHARS, or a QuestionError saying what to send instead."""
    size = len(json.dumps(history, ensure_ascii=False, default=str))
    if size > MAX_HISTORY_CHARS:
        raise QuestionError(f"The history passed is {size:,} characters long; the limit is {MAX_HISTORY_CHARS:,}. "
                            "Pass only the recent turns of the conversation.")


def upload(service: Service, files: list[str] | None) -> tuple[str, list[list[str]], str, None]:
    if not files:
        return "Choose one or more .txt or .md files first.", service.article_rows(), service.status(), None
    try:
        message = service.add([Path(f) for f in files])
    except QAError as e:
        message = f"⚠ {render.escape(str(e))}"
    except Exception:
        log.exception("adding %s failed", files)
        message = "⚠ The files could not be added; the server log has the details."
    finally:
        discard_uploads(files)
    return message, service.article_rows(), service.status(), None


def discard_uploads(files: list[str]) -> None:
    """Remove Gradio's copies of uploaded files, added or refused: Gradio would keep them, and serve them."""
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    for f in files:
        path = Path(f).resolve()
        if path != root and path.is_relative_to(root):
            path.unlink(missing_ok=True)
            if path.parent != root:
                with suppress(OSError):
                    path.parent.rmdir()  # the upload's own folder, once empty


def index_now(service: Service) -> tuple[str, list[list[str]]]:
    """The status line and the article list of the index answering now."""
    service.current()
    return service.status(), service.article_rows()


def build(service: Service) -> gr.Blocks:
    """The page: chat and sources side by side, the article list and upload below."""
    with gr.Blocks(title="News QA", analytics_enabled=False) as demo:
        gr.Markdown("# News QA\nAsk about the articles; every answer cites them. Follow-up questions are fine.")
        status = gr.Markdown(service.status(), elem_id="status")
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                # No maths: "$$" in an article or a reply is text (render.escape keeps Markdown out).
                chatbot = gr.Chatbot(elem_id="chat", height=460, label="Chat", feedback_options=None,
                                     buttons=["copy", "copy_all"], latex_delimiters=[])
                question = gr.Textbox(placeholder="Ask a question about the articles…", show_label=False,
                                      elem_id="question", submit_btn="Ask")
                clear = gr.Button("Clear the conversation", elem_id="clear", size="sm")
                gr.Examples(EXAMPLES, inputs=question, cache_examples=False, api_visibility="private")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render.EMPTY_SOURCES, elem_id="sources")
        files, added, table = _articles_section(service)
        question.submit(partial(respond, service), [question, chatbot, turns],
                        [chatbot, sources, turns, question], api_visibility="private")
        for control in (clear.click, chatbot.clear):
            control(lambda: ([], render.EMPTY_SOURCES, [], ""), None, [chatbot, sources, turns, question],
                    api_visibility="private")
        files.upload(partial(upload, service), files, [added, table, status, files], api_visibility="private",
                     concurrency_limit=1)
        # Each page shows the index as it is when opened, not as it was when the server started.
        demo.load(partial(index_now, service), None, [status, table], api_visibility="private", queue=False)

        def chat(question: str, history: list[Any] | None = None) -> dict[str, Any]:
            """Answer a question from the articles: the answer text with [n] markers and its citations.
            For a follow-up, pass the earlier turns as `history`: the questions asked, or the answers returned."""
            return api_answer(service, question, history)

        gr.api(chat, api_name="chat")
    return demo


def _articles_section(service: Service) -> tuple[gr.File, gr.Markdown, gr.Dataframe]:
    with gr.Accordion("Articles in the index", open=False, elem_id="articles"):
        table = gr.Dataframe(service.article_rows(), headers=["Date", "File", "Title", "Outlet"],
                             interactive=False, elem_id="article-table")
        kb = service.settings.max_upload_bytes // 1000
        files = gr.File(label=f"Add articles: .txt or .md, up to {kb:,} KB each", file_count="multiple",
                        file_types=[".txt", ".md"], elem_id="upload")
        added = gr.Markdown(elem_id="upload-result")
    return files, added, table


def launch_options(settings: Settings) -> dict[str, Any]:
    """How the server listens: local only by default, no files but Gradio's own, bounded uploads."""
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "root_path": settings.ui_root_path,
        "auth": settings.ui_login,
        "max_file_size": settings.max_upload_bytes,
        # Gradio serves only its own static and temporary files; these are refused even if that changes.
        "blocked_paths": [str(settings.store), str(settings.articles), str(PROJECT_DIR / ".env"),
                          str(Path.cwd() / ".env")],
        "ssr_mode": False,
        "show_error": False,
        "footer_links": ["api"],
        "css": CSS,
    }


def serve(settings: Settings) -> None:
    """Load the index (building it if missing) and serve the UI until interrupted."""
    service = Service(settings)
    service.watch()
    demo = build(service)
    demo.queue(max_size=settings.ui_queue_size, default_concurrency_limit=settings.ui_concurrency)
    print(f"Serving the chat UI on http://{settings.ui_host}:{settings.ui_port} (Ctrl-C stops it)", flush=True)
    try:
        demo.launch(**launch_options(settings))
    except OSError as e:
        raise ConfigError(f"Cannot listen on {settings.ui_host}:{settings.ui_port} ({e}). "
                          "Set QA_PORT (or --port) to a free port.") from None
