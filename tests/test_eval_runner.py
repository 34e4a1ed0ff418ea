"""`qa eval` run as a user runs it: reports, determinism, comparison, the CI gate, the LLM judge."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eval.judge import judge, make_llm
from eval.questions import load_questions
from qa.cli import main
from qa.config import PROJECT_DIR, Settings
from qa.errors import ConfigError, LLMError
from tests.fake_openai import FakeOpenAI, reply

PICK = ("q001", "q021", "q041", "q054", "q063", "q074", "q088", "q094", "q123")  # each category, incl. 2-turn history


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small question file taken from the real set."""
    path = tmp_path_factory.mktemp("questions") / "small.jsonl"
    lines = (PROJECT_DIR / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if json.loads(line)["id"] in PICK) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_runs(settings: Settings, small: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    outs = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for out in outs:
        assert _qa_eval(settings, "--questions", str(small), "--out", str(out)) == 0
    return outs


def _qa_eval(settings: Settings, *args: str) -> int:
    return main(["eval", "--articles", str(settings.articles), "--store", str(settings.store), *args])


def test_two_runs_on_the_same_index_are_byte_identical(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    assert (a / "report.json").read_bytes() == (b / "report.json").read_bytes()
    assert {p.name for p in a.iterdir()} == {"report.json", "report.md", "timings.json", "scores.png"}
    assert (a / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    timings = json.loads((a / "timings.json").read_text(encoding="utf-8"))
    assert set(timings["seconds"]) == set(PICK) and timings["latency"]["overall"]["n"] == len(PICK)


def test_the_report_holds_every_figure_and_every_result(two_runs: tuple[Path, Path]) -> None:
    doc = json.loads((two_runs[0] / "report.json").read_text(encoding="utf-8"))
    assert doc["meta"]["n_questions"] == len(PICK) and doc["meta"]["k"] == 3
    assert doc["meta"]["categories"] == ["single", "multi", "temporal", "conflict", "unanswerable", "followup"]
    for block in [doc["metrics"]["overall"], *doc["metrics"]["by_category"].values()]:
        assert {"hit_at_k", "fact_recall", "support", "abstention_recall", "false_abstention_rate"} <= set(block)
    results = {r["id"]: r for r in doc["results"]}
    assert [r["id"] for r in doc["results"]] == [q for q in PICK]
    coup = results["q041"]
    assert coup["scores"]["fact_recall"] == 1.0, coup["answer"]  # July 15 and June 18, both cited
    assert all(c["exact"] for c in coup["citations"]) and coup["retrieved"]
    follow = results["q088"]
    assert follow["history"] and follow["resolved_question"] != follow["question"]
    assert "failed" in follow and "claims" in follow
    md = (two_runs[0] / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval" in md and "| fact recall |" in md and "## Latency" in md


def test_a_question_file_without_reference_answers_runs_and_reports(settings: Settings, small: Path,
                                                                    tmp_path: Path) -> None:
    """Users' own sets often have facts and sources but no reference answer; token F1 is then over those that do."""
    rows = [json.loads(line) for line in small.read_text(encoding="utf-8").splitlines()]
    for row in rows[1:]:
        del row["answer"]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    assert _qa_eval(settings, "--questions", str(path), "--out", str(tmp_path / "out")) == 0

    doc = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    overall = doc["metrics"]["overall"]
    assert overall["token_f1"]["n"] == 1 and overall["fact_recall"]["n"] == sum(r["answerable"] for r in rows)
    assert "token_f1" in doc["results"][0]["scores"] and "token_f1" not in doc["results"][1]["scores"]
    answerable = sum(r["answerable"] for r in rows)
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"Token F1 is over the 1 of {answerable} answerable questions that have a reference answer" in md

    for row in rows:
        row.pop("answer", None)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert _qa_eval(settings, "--questions", str(path), "--out", str(tmp_path / "none")) == 0
    again = json.loads((tmp_path / "none" / "report.json").read_text(encoding="utf-8"))
    assert again["metrics"]["overall"]["token_f1"] == {"value": None, "low": None, "high": None, "n": 0}
    assert again["metrics"]["overall"]["fact_recall"] == overall["fact_recall"]  # the rest is measured as before


def test_compare_shows_paired_differences(two_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, b = (str(p / "report.json") for p in two_runs)
    assert main(["eval", "--compare", a, b]) == 0
    out = capsys.readouterr().out
    assert "| fact recall | overall |" in out and "+0.0 pts" in out
    assert "## Paired differences" in out and "## Questions that changed (0)" in out


def test_check_fails_naming_the_metric(settings: Settings, small: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    strict = tmp_path / "thresholds.json"
    strict.write_text(json.dumps({"min": {"overall.citation_exactness": 1.0, "overall.token_f1": 0.99},
                                  "max": {"overall.false_abstention_rate": 0.5}}), encoding="utf-8")
    code = _qa_eval(settings, "--questions", str(small), "--out", str(tmp_path / "o"), "--check",
                    "--thresholds", str(strict))
    err = capsys.readouterr().err
    assert code == 1
    assert "overall.token_f1 = " in err and "below its minimum 0.9900" in err
    assert "citation_exactness" not in err and "false_abstention_rate" not in err


def test_the_stored_thresholds_gate_offline_metrics_only() -> None:
    thresholds = json.loads((PROJECT_DIR / "eval" / "thresholds.json").read_text(encoding="utf-8"))
    names = [key.rpartition(".")[2] for limits in thresholds.values() for key in limits]
    assert set(thresholds) <= {"min", "max"} and "fact_recall" in names and "abstention_recall" in names


def test_qa_eval_runs_from_a_fresh_process() -> None:
    run = subprocess.run([sys.executable, "-m", "qa.cli", "eval", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "--compare" in run.stdout and "--check" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "qa.cli", "eval", "--compare", "absent-a.json", "absent-b.json"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "absent-a.json" in bad.stderr


@pytest.fixture
def fake_llm() -> Iterator[str]:
    """The tests' OpenAI-compatible server as a judge: '4.5' to correctness prompts, 'YES' to faithfulness ones."""
    def verdict(request: dict[str, Any]) -> str:
        return "4.5\nMatches the reference." if "Reference Answer" in json.dumps(request["messages"]) else "YES"

    with FakeOpenAI() as server:
        server.script(reply(verdict))
        yield server.url


def test_judge_metrics_through_llamaindex_evaluators(fake_llm: str) -> None:
    questions = [q for q in load_questions(PROJECT_DIR / "eval" / "questions.jsonl") if q.id in ("q021", "q054")]
    results = [
        {"id": "q021", "answer": "On June 30, Russia lifted the ban. [1]", "abstained": False,
         "resolved_question": questions[0].question},
        {"id": "q054", "answer": "The articles don't say.", "abstained": True, "resolved_question": "x"},
    ]  # fmt: skip
    quotes = {"q021": ["On June 30, Russia lifted a ban on tourist flights to Turkey."], "q054": []}
    llm = make_llm(Settings(openai_api_key="test-key", openai_base_url=fake_llm, llm_model="judge-model"))
    got = judge(llm, questions, results, quotes, "judge-model")
    assert got["results"] == {"q021": {"faithful": True, "correctness": 4.5, "correct": True}, "q054": {}}
    assert got["metrics"]["faithfulness"]["value"] == 1.0 and got["metrics"]["correctness_pass"]["n"] == 1


def test_judge_needs_an_endpoint() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_llm(Settings())


def test_a_failing_judge_is_one_error_not_a_traceback() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"  # nothing listens there once closed
    questions = [q for q in load_questions(PROJECT_DIR / "eval" / "questions.jsonl") if q.id == "q021"]
    results = [{"id": "q021", "answer": "On June 30. [1]", "abstained": False, "resolved_question": "When?"}]
    llm = make_llm(Settings(openai_api_key="k", openai_base_url=url, llm_retries=0, llm_timeout=5))
    with pytest.raises(LLMError, match="judge LLM failed"):
        judge(llm, questions, results, {"q021": ["On June 30, Russia lifted a ban."]}, "m")
