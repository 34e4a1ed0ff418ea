"""Conversations: a follow-up is resolved against the history; a new topic is not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.chat import leans_on_history, topic_words, turns_from
from qa.errors import QuestionError
from qa.schema import Answer


def test_follow_up_is_answered_from_the_article_the_history_points_to(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    chat.ask("Has Turkey ever applied to join the European Union?")
    a = chat.ask("How has that bid gone since?")
    assert "European Union" in a.resolved_question  # what "that bid" is, carried from the history
    assert "stalled" in a.text and a.citations[0].source == "003_357cf64761681100.txt", a.text


@pytest.mark.parametrize(
    ("history", "follow_up", "fact", "source"),
    [
        ("When did Turkey join NATO?", "What role did it play in the alliance during the Cold War?",
         "Western ally", "003_357cf64761681100.txt"),
        ("What did NATO member Turkey buy from Russia in 2019?", "How did Washington react to that purchase?",
         "sanctions", "004_5df4bb0c1e35a75c.txt"),
    ],
)
def test_more_follow_ups(engine, history: str, follow_up: str, fact: str, source: str) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    chat.ask(history)
    a = chat.ask(follow_up)
    assert fact in a.text and a.citations[0].source == source, a.text


def test_the_resolved_question_is_visible_in_the_answer(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    chat.ask("What did Putin criticise Kyiv for?")
    a = chat.ask("How did Ankara respond to that?")
    assert a.question == "How did Ankara respond to that?"
    assert a.resolved_question == "How did Ankara respond to that? (Putin criticise Kyiv)"
    assert a.to_dict()["resolved_question"] == a.resolved_question


def test_a_new_topic_is_not_polluted_by_the_history(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    chat.ask("What did Putin criticise Kyiv for?")
    a = chat.ask("When did Russia lift the ban on tourist flights to Turkey?")
    assert a.resolved_question == a.question
    assert a.text == engine.ask("When did Russia lift the ban on tourist flights to Turkey?").text


def test_a_follow_up_of_a_follow_up_keeps_the_topic(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    chat.ask("How many people have died in the Donbass fighting since 2014?")
    chat.ask("Where did it take place?")
    a = chat.ask("Who is that figure from?")
    assert "Donbass" in a.resolved_question and "U.N." in a.text, a.resolved_question


def test_reset_forgets_the_history(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    chat.ask("Has Turkey ever applied to join the European Union?")
    chat.reset()
    assert chat.resolve("How has that bid gone since?") == "How has that bid gone since?"


def test_stream_yields_pieces_then_the_answer_and_remembers_the_turn(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    list(chat.stream("Has Turkey ever applied to join the European Union?"))
    pieces = list(chat.stream("How has that bid gone since?"))
    answer = pieces[-1]
    assert isinstance(answer, Answer) and "".join(p for p in pieces[:-1] if isinstance(p, str)) == answer.text
    assert len(chat.turns) == 2 and "European Union" in answer.resolved_question


def test_conversations_in_parallel_threads_do_not_mix(engine) -> None:  # type: ignore[no-untyped-def]
    topics = [("Has Turkey ever applied to join the European Union?", "How has that bid gone since?", "stalled"),
              ("When did Turkey join NATO?", "What role did it play in the alliance during the Cold War?",
               "Western ally")] * 3

    def converse(topic: tuple[str, str, str]) -> bool:
        chat = engine.chat()
        chat.ask(topic[0])
        return topic[2] in chat.ask(topic[1]).text

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(converse, topics))


@pytest.mark.parametrize(
    ("question", "leans"),
    [("How did Ankara respond to that?", True), ("Did he thank Putin?", True), ("Were there foreigners?", True),
     ("And in 2022?", True), ("When did Turkey join NATO?", False), ("Who is Dmitry Peskov?", False)],
)
def test_which_questions_lean_on_the_history(question: str, leans: bool) -> None:
    assert leans_on_history(question) is leans


def test_topic_words_skip_question_and_stop_words() -> None:
    assert topic_words("What did Putin criticise Kyiv for?") == ["Putin", "criticise", "Kyiv"]
    assert topic_words("What did Putin criticise Kyiv for?", exclude="Did putin reply?") == ["criticise", "Kyiv"]


def test_qa_chat_in_the_terminal(settings) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    typed = "Has Turkey ever applied to join the European Union?\nHow has that bid gone since?\n/reset\n?!?\n"
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "chat", "--articles", str(settings.articles), "--store", str(settings.store)],
        input=typed, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr  # Ctrl-D (end of input) quits
    assert "(searched for: How has that bid gone since? (Turkey applied join European Union))" in done.stdout
    assert "stalled" in done.stdout and "[1] 003_357cf64761681100.txt" in done.stdout
    assert "(new conversation)" in done.stdout
    assert done.stderr.count("\n") == 1 and "qa: The question has no words" in done.stderr  # one line, no trace


def test_a_conversation_kept_by_the_caller_continues_from_its_questions_or_answers(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    first, kept = chat.ask("What did Putin criticise Kyiv for?"), chat.ask("How did Ankara respond to that?")
    for history in ([first.to_dict()], ["What did Putin criticise Kyiv for?"], [first.to_dict(), kept.to_dict()]):
        a = engine.chat(history).ask("And what did Erdogan say about it?")
        assert "Putin" in a.resolved_question and "Kyiv" in a.resolved_question, (history, a.resolved_question)
    # the last answer's resolved question ("How did Ankara respond to that? (Putin criticise Kyiv)") is what carries
    assert "Ankara" in engine.chat([first.to_dict(), kept.to_dict()]).ask("And what did he say?").resolved_question
    alone = "And what did Erdogan say about it?"
    assert engine.chat([]).ask(alone).resolved_question == alone


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("What did Putin say?", r"The history must be a list of earlier turns, not str\."),
        ([{"text": "an answer without its question"}], r"History item 1 is \{'text': .*\(dict\): give each earlier"),
        (["fine", None], r"History item 2 is None \(NoneType\)"),
        (["   "], r"History item 1: The question is empty\."),
        (["x" * 2_001], r"History item 1: The question is 2,001 characters long"),
    ],
)
def test_a_malformed_history_is_refused_saying_which_turn_and_why(history: object, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        turns_from(history)  # type: ignore[arg-type]
