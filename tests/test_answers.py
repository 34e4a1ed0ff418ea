"""Offline answers: exact citations, the facts asked for, and abstention when the articles are silent."""

from __future__ import annotations

import json
import re

import pytest

from eval.metrics import missing_facts
from qa.config import PROJECT_DIR, Settings
from qa.errors import QuestionError

QUESTIONS = [json.loads(line) for line in (PROJECT_DIR / "eval" / "questions.jsonl").read_text().splitlines()]
SINGLE_TURN = [q for q in QUESTIONS if not q["history"]]


@pytest.fixture(scope="module")
def answers(engine):  # type: ignore[no-untyped-def]
    return {q["id"]: engine.ask(q["question"]) for q in SINGLE_TURN}


def test_every_citation_quotes_its_file_exactly(answers, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for a in answers.values():
        for c in a.citations:
            for p in [c, *c.also]:
                with open(settings.articles / p.source, encoding="utf-8") as f:
                    assert f.read()[p.start : p.end] == p.quote
                checked += 1
    assert checked > 50


def test_markers_and_citations_match(answers) -> None:  # type: ignore[no-untyped-def]
    for a in answers.values():
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", a.text)}
        assert markers == {c.id for c in a.citations}, a.text
        assert a.abstained == (not a.citations)


def test_answerable_questions_get_their_facts(answers) -> None:  # type: ignore[no-untyped-def]
    answerable = [q for q in SINGLE_TURN if q["answerable"]]
    right = [q["id"] for q in answerable if not missing_facts(q["facts"], answers[q["id"]].text)]
    wrongly_abstained = [q["id"] for q in answerable if answers[q["id"]].abstained]
    # Regression floor below the measured level (0.66); the target is 0.95.
    assert len(right) / len(answerable) >= 0.60, sorted({q["id"] for q in answerable} - set(right))
    assert len(wrongly_abstained) / len(answerable) <= 0.05, wrongly_abstained


def test_unanswerable_questions_abstain(answers) -> None:  # type: ignore[no-untyped-def]
    unanswerable = [q for q in SINGLE_TURN if not q["answerable"]]
    abstained = [q["id"] for q in unanswerable if answers[q["id"]].abstained]
    # Regression floor below the measured level (0.86); the target is 0.90.
    assert len(abstained) / len(unanswerable) >= 0.80, sorted({q["id"] for q in unanswerable} - set(abstained))


def test_the_issue_examples(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("When did Russia lift the ban on tourist flights to Turkey?")
    assert "June 30" in a.text and a.citations[0].source == "001_1dfbcbbfd773fe7a.txt"
    assert a.citations[0].date == "2016-08-09" and a.mode == "extractive"
    for off_topic in ("What is the capital of Australia?", "What did the two leaders agree about wheat exports?"):
        refused = engine.ask(off_topic)
        assert refused.abstained and refused.citations == [] and "don't say" in refused.text


def test_find_shows_what_retrieval_handed_the_answerer(engine) -> None:  # type: ignore[no-untyped-def]
    question = "When did Russia lift the ban on tourist flights to Turkey?"
    found = engine.find(question)
    assert [p.n for p in found.passages] == list(range(1, len(found.passages) + 1))
    assert "001_1dfbcbbfd773fe7a.txt" in {p.source for p in found.passages}
    quoted = {(c.source, c.start) for c in found.offline.citations}
    assert quoted <= {(s.source, s.start) for s in found.sentences}  # the answer quotes what was found
    assert found.offline.text == engine.ask(question).text


def test_repeated_statement_is_one_citation_with_both_sources(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("What did the Kremlin say about the New Year's greetings?")
    sources = {c.source for c in a.citations} | {p.source for c in a.citations for p in c.also}
    assert {"002_93c4837e9acaa4b1.txt", "004_5df4bb0c1e35a75c.txt"} <= sources
    quotes = [c.quote for c in a.citations]
    assert sum("exchanged New Year" in q for q in quotes) == 1


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", "?!?", "x" * 20_000])
def test_bad_questions_are_refused_with_advice(engine, bad: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QuestionError):
        engine.ask(bad)
    assert not engine.ask("Where did Putin host Erdogan in August 2016?").abstained


def test_stream_yields_pieces_then_the_answer(engine) -> None:  # type: ignore[no-untyped-def]
    from qa.schema import Answer

    pieces = list(engine.stream("When did Russia lift the ban on tourist flights to Turkey?"))
    assert isinstance(pieces[-1], Answer) and len(pieces) > 2
    assert "".join(p for p in pieces[:-1] if isinstance(p, str)) == pieces[-1].text


def test_disagreeing_sources_are_both_cited(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("When was the coup attempt in Turkey?")
    assert "July 15" in a.citations[0].quote and a.citations[0].source == "001_1dfbcbbfd773fe7a.txt"
    assert any("June 18" in c.quote and c.source == "003_357cf64761681100.txt" for c in a.citations)
    assert a.conflicts and "different date" in a.text


def test_last_contact_comes_from_the_newest_articles(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("When did Putin and Erdogan last speak?")
    assert {c.date for c in a.citations} == {"2022-01-02"}, a.text
    # the New Year's call leads, with its day resolved; not the 2021 photo caption of the same article
    assert a.citations[0].dates == ["Sunday = January 2, 2022"], a.text


def test_compatible_figures_are_not_a_conflict(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("How many people were killed in the Istanbul airport attack?")
    assert not a.conflicts and ("more than 40" in a.text or "dozens" in a.text)


@pytest.mark.parametrize(
    ("kind", "text", "question", "expected"),
    [
        ("number", "more than 40 people were killed", "How many were killed?", True),
        ("number", "dozens of people were killed", "How many were killed?", True),
        ("number", "Turkey bought S-400 batteries in 2019", "How many batteries did Turkey buy?", False),
        ("number", "the July 15 coup attempt", "How many people were detained after the coup?", False),
        ("number", "supplying combat drones to Ukraine ... separatists in two eastern regions",
         "How many combat drones has Turkey supplied?", False),  # a count, but of something else
        ("duration", "the leaders spoke for an hour", "How long did the call last?", True),
        ("duration", "the leaders spoke on Wednesday", "How long did the call last?", False),
        ("name", "spokesperson Ibrahim Kalin said", "What is the name of the spokesman?", True),
        ("name", "Turkish and Russian ministers met in Sochi", "Who was the Russian minister in Sochi?", False),
    ],
)
def test_answer_must_hold_what_was_asked(kind: str, text: str, question: str, expected: bool) -> None:
    from qa.abstain import has_answer_type

    assert has_answer_type(kind, text, question) is expected


def test_relative_dates_in_an_answer_are_resolved_against_the_article_date(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("What did Putin criticise Kyiv for deploying?")
    drones = next(c for c in a.citations if "drones" in c.quote and "Last month" in c.quote)
    assert drones.dates == ["Last month = December 2021"]
    assert "(Last month = December 2021)" in a.text


def test_the_same_sentence_in_two_spellings_is_one_citation_with_both_sources(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("What did Putin criticise Kyiv for deploying?")
    drones = [c for c in a.citations if "drones" in c.quote and "Last month" in c.quote]
    assert len(drones) == 1  # "criticized Kyiv" (004) and "criticised Kiev" (002)
    assert {drones[0].source, *(p.source for p in drones[0].also)} == {"002_93c4837e9acaa4b1.txt",
                                                                     "004_5df4bb0c1e35a75c.txt"}


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("How did the Biden administration react to the call?", ["Biden"]),
        ("What did they say about the Syrian city of Aleppo?", ["Aleppo"]),  # "Syrian" ~ "Syria"
        ("Has Turkey applied to join the European Union?", []),  # known by its initials, "EU"
        ("What did Putin say in August 2016?", []),  # months are not names
        ("What do UN figures say about the Donbass fighting?", []),  # the article writes "U.N."
        ("How did the Americans respond to the S-400 purchase?", []),  # the articles say "United States", "US"
        ("In which Chinese city was the G20 summit?", []),  # "China"
    ],
)
def test_questions_about_names_no_article_contains_abstain(engine, question: str, unknown: list[str]) -> None:  # type: ignore[no-untyped-def]
    from qa.abstain import unknown_names

    assert unknown_names(question, engine.rarity) == unknown
    if unknown:
        assert engine.ask(question).abstained


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("What gift did Erdogan bring Putin to St Petersburg?", "gift"),
        ("Who was Russia's ambassador to Turkey in 2016?", "ambassador"),
        ("What role did Turkey play in the talks?", None),  # names the kind of answer, not a thing
        ("What date do the reports give for the coup attempt?", None),
        ("Which sanctions did Russia lift?", None),  # the articles speak of sanctions
        ("Which group claimed responsibility for the Ataturk Airport attack?", "group"),
        ("Which came later: the annexation of Crimea or the S-400 purchase?", None),  # a verb
        ("Which cleric has Washington been reluctant to hand over?", None),  # known
        ("In which hotel did Erdogan stay in St Petersburg?", "hotel"),
        ("Who acted as interpreter during the talks at the Constantine Palace?", "interpreter"),  # not "intern..."
    ],
)
def test_questions_asking_for_a_thing_no_article_mentions_abstain(engine, question: str, focus: str | None) -> None:  # type: ignore[no-untyped-def]
    from qa.abstain import unknown_focus

    assert unknown_focus(question, engine.rarity) == focus
    if focus:
        assert engine.ask(question).abstained


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("What goals did the leaders voice in 2016 and in 2022?",
         ["What goals did the leaders voice in 2016", "What goals did the leaders voice in 2022"]),
        ("What do the 2016 and 2022 articles say about NATO?",
         ["What do the 2016 articles say about NATO", "What do the 2022 articles say about NATO"]),
        ("How many days passed between Erdogan's letter and the lifting of the flight ban?",
         ["When Erdogan's letter", "When the lifting of the flight ban"]),
        ("Was the coup attempt before or after Erdogan's letter to Putin?",
         ["When the coup attempt", "When Erdogan's letter to Putin"]),
        ("When did Russia lift the ban on tourist flights?", []),
        ("How many people died in the airport attack versus in the Donbass conflict?",
         ["How many people died in the airport attack", "How many people died in the Donbass conflict"]),
        ("Compare what Putin said about coups with what the Kremlin said about Donbass.",
         ["what Putin said about coups", "what the Kremlin said about Donbass"]),
        ("Who offered Moscow and Kyiv mediation, and how did Ukraine react?",
         ["Who offered Moscow and Kyiv mediation", "how did Ukraine react"]),
        ("What did Putin condemn in 2016, and what did he criticise in 2021?",
         ["What did Putin condemn in 2016", "what did he criticise in 2021 (Putin)"]),
    ],
)
def test_compound_questions_are_split_into_parts(question: str, parts: list[str]) -> None:
    from qa.question import parts_of

    assert parts_of(question) == parts


def test_days_between_two_events_gives_both_dates(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("How many days passed between Erdogan's letter to Putin and Russia lifting the flights ban?")
    assert "June 27" in a.text and "June 30" in a.text, a.text


def test_photo_captions_are_found_and_answer_only_questions_about_the_photo() -> None:
    import numpy as np

    from qa import extractive
    from qa.retrieve import Sentence, is_caption
    from qa.terms import Rarity, terms

    text = ("Putin and Erdogan at the Kremlin in Moscow on March 5, 2020. File Photo: AFP\n"
            "Erdogan met Putin in Moscow on March 5, 2020.\n")
    first, second = text.index("Erdogan met"), len(text) - 1
    assert is_caption(text, 0, text.index(" File")) and not is_caption(text, first, second)
    vec = np.ones(4, dtype=np.float32) / 2
    caption = Sentence("a.txt", text[: text.index(" File")], 0, 60, vec, {}, 0, 0, caption=True)
    prose = Sentence("a.txt", text[first:second], first, second, vec, {}, 0, 1)
    rarity = Rarity([text])

    def quoted(question: str) -> list[str]:
        return [c.quote for c in extractive.answer(question, vec, [caption, prose], rarity).citations]

    assert quoted("When did Putin and Erdogan meet in Moscow?") == [prose.text]
    assert caption.text in quoted("When was the photo of Putin and Erdogan in Moscow taken?")
    further = np.array([0.6, 0.4, 0.4, 0.57], dtype=np.float32)  # the prose a little closer in meaning:
    caption.vector = further / np.linalg.norm(further)  # the caption still ranks first for the photo question
    wanted = terms("Where was the photo of Putin and Erdogan taken?")
    first = max([caption, prose], key=lambda s: extractive._score(s, vec, wanted, "where", rarity, set(), True).score)
    assert first is caption


def _sentence(text: str, vector: list[float], position: int = 0):  # type: ignore[no-untyped-def]
    import numpy as np

    from qa.retrieve import Sentence

    vec = np.array(vector, dtype=np.float32)
    return Sentence("a.txt", text, position * 100, position * 100 + len(text), vec / np.linalg.norm(vec), {}, 0,
                    position)


def test_a_free_place_goes_to_the_runner_up_of_a_part_before_a_weaker_sentence() -> None:
    import numpy as np

    from qa import extractive
    from qa.terms import Rarity

    ankara = _sentence("Ankara said the talks went well.", [1, 0, 0], 0)
    moscow = _sentence("Moscow said the talks went well.", [0, 1, 0], 1)
    moscow_too = _sentence("Moscow said it hoped for more talks.", [0.2, 1, 0], 2)
    weather = _sentence("The weather in the capital was fine that day.", [0, 0, 1], 3)
    sentences = [ankara, moscow, moscow_too, weather]
    rarity = Rarity([s.text for s in sentences])
    parts = [("What did Ankara say", np.array([1, 0, 0], dtype=np.float32)),
             ("What did Moscow say", np.array([0, 1, 0], dtype=np.float32))]
    chosen = [extractive.Scored(ankara, 1.0, 1.0, 1.0, set()), extractive.Scored(weather, 0.7, 0.7, 0.0, set())]
    rankings, best = extractive._part_answers(parts, sentences, rarity)
    picked = extractive._cover_parts(chosen, rankings, best)
    assert [x.sentence.text for x in picked] == [ankara.text, moscow.text, moscow_too.text]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        # a named body
        ("Which Turkish office released the statement?", "body"),
        ("What agency reported the call?", "body"),
        ("Which city hosted the meeting?", "where"),
        ("What did Erdogan's office say?", "other"),
        # a "when" joining a clause does not ask for a date
        ("What was the name of the Russian pilot killed when Turkey downed the Su-24?", "name"),
        ("How many Turkish soldiers died when Russia shot down a Turkish jet in 2015?", "number"),
        ("Where was Erdogan when the coup attempt began?", "where"),
        ("Was the ban still in force when the coup attempt took place?", "when"),  # no question word before it
        ("When did Russia lift the ban?", "when"),
        ("In which Chinese city was the G20 summit held?", "where"),
        ("What St Petersburg venue did they meet in?", "where"),
        ("In which regions do Russia and Turkey back opposing sides?", "where"),  # plurals too
        ("Which venues did the two leaders choose?", "where"),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str) -> None:
    from qa.question import question_kind

    assert question_kind(question) == kind


def test_a_question_asking_which_office_prefers_the_sentence_naming_one(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.ask("Which Turkish office released the statement on Erdoğan's New Year's call with Putin?")
    assert "Presidential Communications Directorate" in a.text, a.text


def test_a_follow_up_is_answered_by_its_own_words_more_than_the_carried_ones(engine) -> None:  # type: ignore[no-untyped-def]
    from qa.question import own_terms

    assert own_terms("Did he say anything about the Turkish people? (Putin met Erdoğan)") == ["anyth", "turkish",
                                                                                               "peopl"]
    assert own_terms("What did he say about the Turkish people?") is None
    chat = engine.chat()
    chat.ask("Putin met Erdoğan in St Petersburg after the coup attempt - what did he say?")
    a = chat.ask("Did he say anything about the Turkish people?")
    assert "Turkish people will overcome" in a.text, a.text


def test_a_compound_question_keeps_its_parts_answers_over_a_disagreement_about_neither(engine) -> None:  # type: ignore[no-untyped-def]
    # The articles disagree on the coup's date (July 15, June 18); neither part asks for it.
    a = engine.ask("What did Erdogan say about the St Petersburg visit, and what did Putin say about coup attempts?")
    assert "new beginning" in a.text and "all kinds" in a.text and not a.conflicts, a.text


def test_a_count_question_about_an_event_dated_by_a_when_clause_abstains(engine) -> None:  # type: ignore[no-untyped-def]
    # Read as a "when" question, the dated sentences about the downed Su-24 answered it.
    assert engine.ask("How many Turkish soldiers died when Russia shot down a Turkish jet in 2015?").abstained


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("Which Russian minister met his Turkish counterpart in Sochi on July 1?", "minister"),
        ("What was the name of the Russian pilot killed when Turkey downed the Su-24?", "pilot"),
        ("Who was the Turkish presidential spokesperson quoted on the new page?", "spokesperson"),
        ("Who wrote the Anadolu Agency article?", None),
        ("Which sectors did the sanctions target?", None),
        ("Which issues came up in 2016, and which did the leaders touch on in 2022?", None),  # a verb, not a role
    ],
)
def test_the_role_a_question_asks_a_name_for(question: str, role: str | None) -> None:
    from qa.abstain import asked_role

    assert asked_role(question) == role


@pytest.mark.parametrize(
    ("question", "abstains"),
    [
        ("Which Russian minister met his Turkish counterpart in Sochi on July 1?", True),  # "ministers met"
        ("What was the name of the Russian pilot killed when Turkey downed the Su-24?", True),  # "the pilot who"
        ("Which cleric has Washington been reluctant to hand over to Turkey?", False),  # "cleric Fethullah Gulen"
        ("Who was the Turkish presidential spokesperson who said an important step had been taken?", False),
    ],
)
def test_a_question_asking_who_held_a_role_needs_a_name_beside_it(engine, question: str, abstains: bool) -> None:  # type: ignore[no-untyped-def]
    assert engine.ask(question).abstained is abstains


def test_role_named_looks_beside_the_role() -> None:
    from qa.abstain import role_named

    question = "Who was the spokesperson?"
    assert role_named("spokesperson", ["Turkish Presidential spokesperson Ibrahim Kalin said"], question)
    assert not role_named("minister", ["Turkish and Russian foreign ministers later met in the Russian city of Sochi"],
                          "Which Russian minister met in Sochi?")
    assert not role_named("pilot", ["Relations soured after the downing."], "Who was the pilot?")  # no pilot at all
    assert role_named("spokesman", ["Kremlin spokesperson Dmitry Peskov dismissed the offer"], "Which spokesman?")


def test_a_rare_name_must_be_in_the_sentences_holding_the_answer(engine) -> None:  # type: ignore[no-untyped-def]
    from qa.abstain import absent_names

    rarity = engine.rarity
    dated = ["President Recep Tayyip Erdoğan attends a meeting with Vladimir Putin in Sochi, Russia, Sept. 29, 2021."]
    assert absent_names("On what date did Erdogan and Putin meet in Hangzhou?", dated, rarity) == ["Hangzhou"]
    assert absent_names("Who wrote the Anadolu Agency article?", ["Diyar Güldoğan - ANKARA (AA) - Putin said"],
                        rarity) == []  # known by its initials
    assert absent_names("What did Putin say?", ["Erdogan said"], rarity) == []  # common names are left to the score
    assert engine.ask("On what date did Erdogan and Putin meet in Hangzhou?").abstained


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the leaders held a phone call Wednesday", False),
        ("the leaders spoke on Sunday evening", True),
        ("the call began at 10:30 a.m. local time", True),
    ],
)
def test_a_time_of_day_question_needs_an_hour_or_part_of_the_day(text: str, expected: bool) -> None:
    from qa.abstain import has_answer_type
    from qa.question import question_kind

    question = "At what time of day did the leaders hold their New Year's phone call?"
    assert question_kind(question) == "clock"
    assert has_answer_type("clock", text, question) is expected


def test_a_time_of_day_question_the_articles_cannot_answer_abstains(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.ask("At what time of day did the leaders hold their New Year's phone call?").abstained


def test_a_word_is_known_by_a_known_word_differing_only_at_its_end() -> None:
    from qa.terms import Rarity, terms

    rarity = Rarity(["Syria and international relations"])
    assert rarity.known_like(terms("Syrian")[0])  # "syria" + "n"
    assert rarity.known_like(terms("internationally")[0])
    assert not rarity.known_like(terms("interpreter")[0])  # shares only "inter" with "international"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did Putin and Erdogan meet in Sochi in 2021?", "Sept. 29, 2021"),
        ("When did Putin and Erdogan speak in 2022?", "discussed Turkey-Russia relations"),  # not only 2016's calls
        ("When did Putin refuse to meet Erdogan in Paris in 2015?", "in Paris in November"),  # an August 2016 text
    ],
)
def test_a_when_question_naming_a_year_is_answered_by_a_date_of_that_year(engine, question: str,  # type: ignore[no-untyped-def]
                                                                          expected: str) -> None:
    answer = engine.ask(question)
    assert not answer.abstained and expected in answer.text


@pytest.mark.parametrize(
    ("question", "disputed"),
    [
        ("How did Putin react to the coup attempt?", False),  # the sources' dates of the coup differ: not asked
        ("When did the coup attempt take place?", True),
    ],
)
def test_a_disagreement_over_a_date_is_told_only_when_the_question_is_about_time(engine, question: str,  # type: ignore[no-untyped-def]
                                                                                disputed: bool) -> None:
    answer = engine.ask(question)
    assert bool(answer.conflicts) is disputed
    if not disputed:
        assert "different date" not in answer.text
