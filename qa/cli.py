"""The `qa` command: index, ask. Errors become one line of advice, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from qa.config import Settings, settings_from_env
from qa.errors import IndexMissing, QAError, QuestionError


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_from_env(articles=args.articles, store=args.store, llm_gguf=getattr(args, "gguf", None))
        if getattr(args, "fast", False):
            settings = settings.with_profile("fast")
        return int(args.run(settings, args))
    except QAError as e:
        print(f"qa: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `qa index | head`: the reader left; no traceback for that
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--articles", help="folder of .txt/.md articles (default: $QA_ARTICLES or ./articles)")
    common.add_argument("--store", help="index folder (default: $QA_STORE or ./store)")
    parser = argparse.ArgumentParser(prog="qa", description="Answer questions from news articles, with citations.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="build or update the index")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--wait", action="store_true", help="if another `qa index` is running, wait for it")
    p.add_argument("--fast", action="store_true",
                   help="a new index in the fast profile: 2.3x the default's indexing speed, weaker answers (README)")
    p.set_defaults(run=_index)

    local = argparse.ArgumentParser(add_help=False)
    local.add_argument("--gguf", metavar="PATH", help="answer with this local GGUF model through llama.cpp "
                       "(default: $QA_LLM_GGUF; needs pip install -e '.[local]')")
    p = sub.add_parser("ask", parents=[common, local], help="answer one question")
    p.add_argument("question", help='the question; "-" reads it from standard input')
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p.set_defaults(run=_ask)
    _add_eval(sub, common)
    _add_conversation_commands(sub, common, local)
    _add_bench(sub)
    return parser


def _add_eval(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """`qa eval`: its options and its code live in the eval package."""
    from eval.cli import add_arguments, run

    p = sub.add_parser("eval", parents=[common], help="measure retrieval, answers, citations and abstention")
    add_arguments(p)
    p.set_defaults(run=run)


def _add_bench(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`qa bench`: speed and scale against the naive pipeline; its code (bench/) is imported only when run."""
    p = sub.add_parser("bench", help="measure speed and scale against the naive pipeline (bench/scale.md)")
    p.add_argument("--quick", action="store_true", help="small inputs, under 2 minutes")
    p.add_argument("--out", help="the Markdown report (default: bench/scale.md)")
    p.add_argument("--cache", help="folder of the cached scale stores (default: $QA_BENCH_CACHE or "
                   "~/.cache/news-qa-bench)")
    p.add_argument("--bbc", help="the BBC corpus folder (default: ../shared/corpora/bbc)")
    p.add_argument("--bbc-articles", type=int, help="index only the first N BBC articles (default: all)")
    p.set_defaults(run=_bench, articles=None, store=None)


def _bench(settings: Settings, args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("sentence_transformers") is None:  # the naive pipeline's encoder
        raise QAError("qa bench compares with sentence-transformers, a dev tool: install it with scripts/setup --dev.")
    from bench.scale import parser, run_bench

    options = ("out", "cache", "bbc", "bbc_articles")
    given = [f"--{k.replace('_', '-')}={v}" for k in options if (v := getattr(args, k)) is not None]
    return run_bench(parser().parse_args(given + (["--quick"] if args.quick else [])))


def _index(settings: Settings, args: argparse.Namespace) -> int:
    from index import build_index

    wait = _say if args.wait else None
    report = build_index(settings, rebuild=args.rebuild, progress=_progress_bar(), wait=wait)
    if report.moved_aside:
        _say(f"The store could not be opened; it was moved to {report.moved_aside} and built anew.")
    for source, reason in report.skipped:
        print(f"warning: skipped {source}: {reason}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary(report))
    for label, items in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        for source in items[:LISTED]:
            print(f"  {label}: {source}")
        if len(items) > LISTED:
            print(f"  {label}: ... and {len(items) - LISTED:,} more")
    return 0


LISTED = 20  # files named per kind of change; a first run over an archive would list thousands


def summary(report: Any) -> str:
    """One line of counts. Example: "added 5, updated 0, removed 0, kept 0, skipped 2 files (1 empty,
    1 binary); 21 chunks embedded, 0 reused, 0 deleted, 21 in the index from 5 files; 1 warning"."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(report.skipped_kinds.items()))
    repaired = f", {report.chunks_repaired} repaired" if report.chunks_repaired else ""
    indexed = len(report.added) + len(report.updated) + len(report.kept)
    warnings = len(report.warnings)
    return (
        f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
        f"kept {len(report.kept)}, skipped {len(report.skipped)} files{f' ({kinds})' if kinds else ''}; "
        f"{report.chunks_embedded} chunks embedded, {report.chunks_reused} reused, "
        f"{report.chunks_deleted} deleted{repaired}, {report.chunks_total} in the index from {indexed} files; "
        f"{warnings} warning{'' if warnings == 1 else 's'}"
        + (f"; {report.profile} profile" if report.profile else "")
    )


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from qa.question import check_question

    question = check_question(_stdin_text() if args.question == "-" else args.question)  # before the slow load
    engine = _engine(settings)
    print(f"qa: {engine.mode_line}", file=sys.stderr)  # once per run, not in every answer
    if engine.llm is not None:
        engine.llm.wait(settings.llm_timeout)  # a local model loads first; a question now would find it busy
    answer = engine.ask(question)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if answer.notice:
        print(f"qa: {answer.notice}", file=sys.stderr)
    print(answer.text)
    if answer.unsupported:
        print("\nNot supported by the cited articles:\n" + "\n".join(f"  ! {s}" for s in answer.unsupported))
    if answer.citations:
        print("\nSources:\n" + answer.sources_text())
    return 0


def _stdin_text() -> str:
    """Standard input as text: UTF-8, or UTF-16/32 with a byte order mark (a Windows pipe); else QuestionError."""
    import codecs

    raw = sys.stdin.buffer.read()
    marks = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
             (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    encoding = next((name for bom, name in marks if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise QuestionError(f"The question on standard input is not {encoding.upper()} text (byte {e.start + 1}); "
                            "send it as UTF-8.") from None


def _engine(settings: Settings) -> Any:
    """The engine; a missing index (or part of one) is built first, saying so."""
    import qa

    try:
        return qa.load(settings=settings, build=False)
    except IndexMissing as e:
        _say(f"{e} Running it now.")
    from index import build_index  # only now: answering must not import indexing (tests/test_lean.py)

    build_index(settings)
    return qa.load(settings=settings, build=False)


def _say(line: str) -> None:
    print(f"qa: {line}", file=sys.stderr, flush=True)


def _add_conversation_commands(sub: Any, common: argparse.ArgumentParser, local: argparse.ArgumentParser) -> None:
    """`qa chat` (in the terminal) and `qa serve` (the web UI)."""
    p = sub.add_parser("chat", parents=[common, local], help="a conversation in the terminal; follow-ups welcome")
    p.set_defaults(run=_chat)
    p = sub.add_parser("serve", parents=[common, local], help="serve the chat web UI")
    p.add_argument("--host", help="address to listen on (default: $QA_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: $QA_PORT or 7860)")
    p.set_defaults(run=_serve)


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    import qa

    chat = qa.load(settings=settings).chat()
    print("Ask about the articles. /reset starts a new conversation; Ctrl-D quits.")
    while True:
        try:
            line = input("\n? ").strip()
        except EOFError:
            print()
            return 0
        if line == "/reset":
            chat.reset()
            print("(new conversation)")
        elif line:
            _chat_turn(chat, line)


def _chat_turn(chat: Any, question: str) -> None:
    """Stream one answer, then its sources; a bad question is one line and the chat goes on."""
    try:
        for piece in chat.stream(question):
            if isinstance(piece, str):
                print(piece, end="", flush=True)
            else:
                print()
                if piece.resolved_question != piece.question:
                    print(f"(searched for: {piece.resolved_question})")
                if piece.citations:
                    print("\nSources:\n" + piece.sources_text())
    except QAError as e:
        print(f"qa: {e}", file=sys.stderr)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from qa.config import BOUNDS, in_range
    from qa.web import serve

    port = int(in_range("--port", args.port, *BOUNDS["ui_port"])) if args.port is not None else settings.ui_port
    settings = replace(settings, ui_host=args.host or settings.ui_host, ui_port=port)
    serve(settings)
    return 0


def _progress_bar():  # type: ignore[no-untyped-def]
    """A progress bar on stderr for runs long enough to need one."""
    state: dict[str, object] = {}

    def progress(done: int, total: int) -> None:
        if total < 512:
            return
        from tqdm import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)  # type: ignore[attr-defined]
        if done >= total:
            bar.close()  # type: ignore[attr-defined]

    return progress


if __name__ == "__main__":
    raise SystemExit(main())
