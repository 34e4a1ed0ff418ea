"""The web UI, as users and programs reach it: a real server, a real browser, the Python client."""

from __future__ import annotations

import html
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from qa.config import PROJECT_DIR, Settings, settings_from_env
from qa.errors import ConfigError, UploadError
from qa.schema import Answer, Citation

OUTPUT = PROJECT_DIR / "test-output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SECRET = "OPENAI_API_KEY=sk-must-never-be-served"


@dataclass
class Server:
    url: str
    settings: Settings
    cwd: Path  # where the app was started; holds a .env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy_index(settings: Settings, root: Path) -> Settings:
    """A private copy of the session's articles and built store, so a test may change them."""
    shutil.copytree(settings.articles, root / "articles")
    shutil.copytree(settings.store, root / "store")
    return Settings(articles=root / "articles", store=root / "store")


def _wait_until_ready(url: str, process: subprocess.Popen[str], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"ui.py exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"ui.py did not answer on {url} within {timeout} s:\n{log.read_text()}")


@contextmanager
def _running_app(settings: Settings, root: Path, port_var: str = "QA_PORT", **env: str) -> Iterator[Server]:
    """`python ui.py` on a free port (given in `port_var`) over `settings`, started from `root` (which holds a .env)."""
    (root / ".env").write_text(SECRET + "\n")
    port = _free_port()
    env = {**os.environ, "QA_ARTICLES": str(settings.articles), "QA_STORE": str(settings.store),
           port_var: str(port), "PYTHONPATH": str(PROJECT_DIR), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", **env}
    log = root / f"server-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "ui.py")], cwd=root, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process, log)
        yield Server(url, settings, root)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ui")
    with _running_app(_copy_index(settings, root), root) as running:
        yield running


def test_a_conversation_in_the_browser(server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server.url)
        expect(page.locator("#status")).to_contain_text("offline")
        ask = page.locator("#question textarea")

        ask.fill("When did Russia lift the ban on tourist flights to Turkey?")
        ask.press("Enter")
        link = page.locator('#chat a.cite[href="#t1-src-1"]')
        expect(link).to_have_text("[1]", timeout=30_000)
        expect(page.locator("#chat")).to_contain_text("On June 30, Russia lifted a ban on tourist flights")
        quote = page.locator("#t1-src-1 mark.quote")
        expect(quote).to_have_text("On June 30, Russia lifted a ban on tourist flights to Turkey following a phone "
                                   "conversation between Putin and Erdoğan.")
        expect(page.locator("#t1-src-1 .file")).to_have_text("001_1dfbcbbfd773fe7a.txt")
        link.click()
        assert page.evaluate("location.hash") == "#t1-src-1"

        ask.fill("Has Turkey ever applied to join the European Union?")
        ask.press("Enter")
        expect(page.locator("#t2-src-1")).to_be_visible(timeout=30_000)
        ask.fill("How has that bid gone since?")  # only answerable with the history
        ask.press("Enter")
        expect(page.locator("#t3-src-1 mark.quote")).to_contain_text("has long been stalled", timeout=30_000)
        expect(page.locator("#t3-src-1 .file")).to_have_text("003_357cf64761681100.txt")
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / "ui-conversation.png", full_page=True)

        page.locator("#clear").click()
        expect(page.locator("#sources")).to_contain_text("Sources of the answer appear here")
        browser.close()
    assert (OUTPUT / "ui-conversation.png").stat().st_size > 10_000


def test_the_python_client_gets_the_answer_with_citations(server: Server) -> None:
    from gradio_client import Client

    answer = Client(server.url, verbose=False).predict(
        "When did Russia lift the ban on tourist flights to Turkey?", api_name="/chat"
    )
    assert "June 30" in answer["text"] and "[1]" in answer["text"] and not answer["abstained"]
    cited = answer["citations"][0]
    assert cited["source"] == "001_1dfbcbbfd773fe7a.txt" and cited["date"] == "2016-08-09"
    text = (server.settings.articles / cited["source"]).read_text(encoding="utf-8")
    assert text[cited["start"] : cited["end"]] == cited["quote"]


def test_the_python_client_continues_a_conversation_by_passing_its_history(server: Server) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server.url, verbose=False)
    first = client.predict("Has Turkey ever applied to join the European Union?", api_name="/chat")
    alone = client.predict("How has that bid gone since?", api_name="/chat")
    for history in ([first], [first["question"]]):  # the answer /chat returned, or just the question asked
        follow_up = client.predict("How has that bid gone since?", history, api_name="/chat")
        assert "European Union" in follow_up["resolved_question"], follow_up
        assert "stalled" in follow_up["text"] and follow_up["citations"][0]["source"] == "003_357cf64761681100.txt"
    assert alone["resolved_question"] == "How has that bid gone since?"  # without the history: no topic carried
    with pytest.raises(AppError, match=r"History item 2 is 42 \(int\): give each earlier turn as the question"):
        client.predict("How has that bid gone since?", [first, 42], api_name="/chat")


def test_the_readme_client_example_runs_as_printed(server: Server) -> None:
    from tests.test_readme import python_example, run_example

    run = run_example(python_example("gradio_client").replace("http://127.0.0.1:7860", server.url))
    assert run.returncode == 0, run.stderr
    assert "003_357cf64761681100.txt" in run.stdout  # the first answer's first source
    assert "How has that bid gone since? (Turkey applied join European Union)" in run.stdout  # as the comment says


def test_a_20000_character_question_is_refused_politely(server: Server) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=r"20,000 characters long; the limit is 2,000\. Ask a shorter question"):
        Client(server.url, verbose=False).predict("Why" * 6_666 + "??", api_name="/chat")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = r.read()
            assert SECRET.encode() not in body and b"SQLite format" not in body
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_the_store_and_env_files_are_not_served(server: Server) -> None:
    store_files = [p for p in server.settings.store.rglob("*") if p.is_file()]
    assert any(p.name == "chroma.sqlite3" for p in store_files)
    secrets = [*store_files, server.cwd / ".env", server.settings.articles / "001_1dfbcbbfd773fe7a.txt"]
    paths = [str(p) for p in secrets] + [".env", "../.env", "store/chroma.sqlite3", str(PROJECT_DIR / "pyproject.toml")]
    for path in paths:
        for route in ("/file=", "/gradio_api/file=", "/gradio_api/static/", "/static/", "/"):
            status = _status(server.url + route + urllib.request.pathname2url(path))
            assert status in (403, 404), (route, path, status)


def test_a_login_is_asked_for_when_one_is_set(server: Server, tmp_path: Path) -> None:
    from gradio_client import Client

    with _running_app(server.settings, tmp_path, QA_UI_USER="ana", QA_UI_PASSWORD="s3cret") as locked:
        assert _status(locked.url + "/config") == 401
        with pytest.raises(Exception, match="credentials were not provided"):
            Client(locked.url, verbose=False)
        answer = Client(locked.url, auth=("ana", "s3cret"), verbose=False).predict(
            "When was the coup attempt in Turkey?", api_name="/chat"
        )
        assert "July 15" in answer["text"]


def test_gradios_own_variables_choose_the_port_and_the_root_path(server: Server, tmp_path: Path) -> None:
    """Hosting platforms and Docker images set GRADIO_SERVER_PORT, not QA_PORT; behind a proxy, GRADIO_ROOT_PATH."""
    from gradio_client import Client

    with _running_app(server.settings, tmp_path, port_var="GRADIO_SERVER_PORT", GRADIO_ROOT_PATH="/news") as app:
        with urllib.request.urlopen(app.url + "/config", timeout=10) as reply:
            config = json.loads(reply.read())
        assert config["root"].endswith("/news")
        answer = Client(app.url, verbose=False).predict("When was the coup attempt in Turkey?", api_name="/chat")
        assert "July 15" in answer["text"]


def test_our_variables_win_over_gradios_and_loopback_stays_the_default() -> None:
    from qa.web import launch_options

    gradio = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7870", "GRADIO_ROOT_PATH": "/news"}
    options = launch_options(settings_from_env(gradio))
    assert (options["server_name"], options["server_port"], options["root_path"]) == ("0.0.0.0", 7870, "/news")
    ours = launch_options(settings_from_env({**gradio, "QA_HOST": "127.0.0.2", "QA_PORT": "7871"}))
    assert (ours["server_name"], ours["server_port"]) == ("127.0.0.2", 7871)
    assert launch_options(settings_from_env({}))["root_path"] == ""
    with pytest.raises(ConfigError, match="GRADIO_SERVER_PORT='web' is not a number"):
        settings_from_env({"GRADIO_SERVER_PORT": "web"})


def test_launch_defaults_are_safe(settings: Settings) -> None:
    from qa.web import launch_options

    options = launch_options(settings_from_env({}))
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 7860
    assert options["auth"] is None and options["max_file_size"] == 1_000_000
    assert "allowed_paths" not in options and str(settings_from_env({}).store) in options["blocked_paths"]
    login = settings_from_env({"QA_UI_USER": "ana", "QA_UI_PASSWORD": "s3cret", "QA_HOST": "0.0.0.0"})
    assert launch_options(login)["auth"] == ("ana", "s3cret") and launch_options(login)["server_name"] == "0.0.0.0"
    assert "s3cret" not in repr(login)
    with pytest.raises(ConfigError, match="both QA_UI_USER and QA_UI_PASSWORD"):
        launch_options(settings_from_env({"QA_UI_USER": "ana"}))


def test_html_in_answers_and_articles_is_shown_as_text(tmp_path: Path) -> None:
    from qa.render import answer_html, sources_html

    (tmp_path / "a.txt").write_text("Intro.\nBefore <img src=x onerror=alert(1)> the <b>quote</b> after.\n")
    quote = "the <b>quote</b>"
    start = (tmp_path / "a.txt").read_text().index(quote)
    cited = Citation(source="a.txt", quote=quote, start=start, end=start + len(quote), title="<script>t</script>",
                     date="2016-08-09", outlet="AA", id=1)
    answer = Answer(text="It was <script>alert(1)</script> *bold* [1]", citations=[cited], abstained=False,
                    mode="extractive", question="<i>q</i>")
    shown = answer_html(answer, turn=1)
    assert "<script>" not in shown and "&#60;script&#62;" in shown and "&#42;bold&#42;" in shown
    assert '<a class="cite" href="#t1-src-1">[1]</a>' in shown
    answer.unsupported = ["Mei is <em>ten</em>."]
    assert 'class="unsupported"' in answer_html(answer, turn=1) and "&#60;em&#62;" in answer_html(answer, turn=1)
    panel = sources_html([answer], tmp_path)
    assert "<img" not in panel and "<b>" not in panel and "<script>" not in panel and "<i>" not in panel
    assert '<mark class="quote">the &lt;b&gt;quote&lt;/b&gt;</mark>' in panel
    assert "Before &lt;img src=x onerror=alert(1)&gt; " in panel and "a.txt" in panel and "AA" in panel


def test_a_quote_from_an_article_changed_since_indexing_is_shown_alone_not_beside_other_text(tmp_path: Path) -> None:
    from qa.render import sources_html

    text = "Intro.\nOn June 30, Russia lifted a ban on tourist flights to Turkey.\n"
    (tmp_path / "a.txt").write_text(text)
    quote = "On June 30, Russia lifted a ban on tourist flights to Turkey."
    start = text.index(quote)
    cited = Citation(source="a.txt", quote=quote, start=start, end=start + len(quote), id=1)
    answer = Answer(text="On June 30 [1].", citations=[cited], abstained=False, mode="extractive", question="q")
    assert "has changed" not in sources_html([answer], tmp_path)
    (tmp_path / "a.txt").write_text("A new first line, longer than the old one.\n" + text)
    panel = sources_html([answer], tmp_path)
    assert f'<mark class="quote">{quote}</mark>' in panel and "has changed since it was indexed" in panel
    assert "A new first line" not in panel and "Intro." not in panel


def test_an_abstention_and_an_error_look_different_from_an_answer(engine, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    import gradio as gr

    from qa.web import Service, respond

    service = Service(settings, engine)
    assert list(respond(service, "   ", [], [])) == [(gr.skip(),) * 4]  # Enter in an empty box does nothing
    *_, (messages, _, turns, kept) = respond(service, "What is the capital of Australia?", [], [])
    assert 'class="abstained"' in messages[-1]["content"] and "cite" not in messages[-1]["content"]
    *_, (messages, _, turns, kept) = respond(service, "x" * 20_000, messages, turns)
    error = messages[-1]["content"]
    assert error.startswith('<span class="error">') and "limit is 2,000" in error and "\n" not in error
    assert "Traceback" not in error and len(messages[-2]["content"]) < 400 and len(turns) == 1


def test_a_chat_history_over_the_limit_is_refused_in_one_line(engine, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    import gradio as gr

    from qa.web import Service, api_answer

    service = Service(settings, engine)
    history = ["When did Russia lift the ban on tourist flights to Turkey?"] * 5_000  # 320,000 characters of JSON
    with pytest.raises(gr.Error, match=r"The history passed is [\d,]+ characters long; the limit is 200,000\. "
                                       "Pass only the recent turns"):
        api_answer(service, "How did Ankara respond to that?", history)
    answer = api_answer(service, "How did Ankara respond to that?", history[:3])
    assert answer["text"] and not answer["abstained"]


def test_uploaded_articles_are_sanitised_indexed_and_listed(settings: Settings, tmp_path: Path) -> None:
    from qa.web import Service, upload

    copy = _copy_index(settings, tmp_path)
    service = Service(replace(copy, max_upload_bytes=5_000))
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    article = uploads / "evil <Story>!.MD"
    article.write_text("Ankara zoo welcomes panda\n\nhttps://example.com/news/2023/03/03/ankara-zoo-panda/\n\n"
                       "The Ankara zoo welcomed a giant panda named Mei on Friday, the city said.\n")
    message, rows, status, _ = upload(service, [str(article)])
    assert "evil_Story.md" in message and "6 articles" in status, message
    assert sorted(p.name for p in copy.articles.iterdir())[-1] == "evil_Story.md"
    assert [r for r in rows if r[1] == "evil_Story.md"][0][0] == "2023-03-03"
    answer = service.engine.ask("What did the Ankara zoo welcome on Friday?")
    assert "Mei" in answer.text and answer.citations[0].source == "evil_Story.md"

    (uploads / "big.txt").write_text("x " * 5_000)
    (uploads / "tool.exe").write_bytes(b"MZ\x00\x00")
    for bad, reason in (("big.txt", "the limit is 5,000"), ("tool.exe", "not a .txt or .md file")):
        message, *_ = upload(service, [str(uploads / bad)])
        assert reason in message
    assert len(list(copy.articles.iterdir())) == 6


def test_an_upload_is_told_only_its_own_warnings_and_gradios_copies_are_removed(settings: Settings,
                                                                                tmp_path: Path) -> None:
    import uuid

    from gradio.utils import get_upload_folder

    from index import build_index
    from qa.web import Service, upload

    copy = _copy_index(settings, tmp_path)
    shutil.copy(copy.articles / "000_3c12290efbff3d9b.txt", copy.articles / "old-copy.txt")
    assert any("old-copy.txt" in w for w in build_index(copy).warnings)  # the corpus has a warning already
    service = Service(copy)
    uploaded = Path(get_upload_folder()) / uuid.uuid4().hex  # where Gradio puts an upload
    uploaded.mkdir(parents=True)
    panda, copied, tool = uploaded / "panda.txt", uploaded / "again.txt", uploaded / "tool.exe"
    panda.write_text("Ankara zoo welcomes panda\n\nThe Ankara zoo welcomed a giant panda named Mei on Friday.\n")
    copied.write_text((copy.articles / "001_1dfbcbbfd773fe7a.txt").read_text())
    tool.write_bytes(b"MZ\x00\x00")
    message, *_ = upload(service, [str(panda)])
    assert message.startswith("Added `panda.txt`") and "⚠" not in message, message
    message, *_ = upload(service, [str(copied)])
    shown = html.unescape(message)  # file names are escaped: the message is Markdown
    assert "again.txt: same text as 001" in shown and "old-copy.txt" not in shown, message
    message, *_ = upload(service, [str(tool)])
    assert "not a .txt or .md file" in message
    assert not uploaded.exists()  # added or refused, nothing stays behind in Gradio's folder


@pytest.mark.parametrize(
    ("name", "safe"),
    [("story.txt", "story.txt"), ("../../etc/Top story!.TXT", "Top_story.txt"), ("C:\\x\\.hidden.md", "hidden.md"),
     ("Çay haberi.md", "Cay_haberi.md"), ("....txt", "article.txt")],
)
def test_upload_names_are_made_safe(name: str, safe: str) -> None:
    from qa.uploads import safe_name

    assert safe_name(name) == safe


@pytest.mark.parametrize("name", ["notes.pdf", "archive.txt.gz", "noextension", "../.env"])
def test_only_text_files_can_be_uploaded(name: str) -> None:
    from qa.uploads import safe_name

    with pytest.raises(UploadError):
        safe_name(name)


PLANTED = ("The harbour committee published [the official count](http://127.0.0.1:9/phish) on Monday, and "
           "![tracker](http://127.0.0.1:9/collect?q=pixel) said 42 ferries crossed the strait.")


def test_markdown_links_and_images_in_articles_and_replies_are_shown_as_text(fresh: Settings,
                                                                             tmp_path: Path) -> None:
    """Neither an article nor an LLM reply can put a live link, a remote image or maths on the page."""
    from playwright.sync_api import expect, sync_playwright

    from index import build_index
    from tests.fake_openai import FakeOpenAI, error, reply

    (fresh.articles / "ferries.txt").write_text(f"Ferry count\n\n{PLANTED} The $$x^2$$ tax stayed.\n")
    build_index(fresh)
    llm_reply = ("On June 30, Russia lifted a ban on tourist flights to Turkey [1]. The ban was lifted following a "
                 "phone conversation between Putin and Erdoğan [1]. Russia lifted the ban on June 30 [1]. See "
                 "![s](http://127.0.0.1:9/collect?q=the+question) and [the ban](http://127.0.0.1:9/x) and $$x^2$$.")
    with FakeOpenAI() as llm, _running_app(fresh, tmp_path, OPENAI_API_KEY="sk-test",
                                           OPENAI_BASE_URL=llm.url) as server, sync_playwright() as p:
        # Most of the reply is supported, so it is shown; the second question is answered offline.
        llm.script(reply(llm_reply), error(401, "bad key"))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if ":9/" in r.url else None)
        page.goto(server.url)
        ask = page.locator("#question textarea")
        chat = page.locator("#chat")
        ask.fill("When did Russia lift the ban on tourist flights to Turkey?")
        ask.press("Enter")
        expect(chat).to_contain_text("![s](http://127.0.0.1:9/collect?q=the+question)", timeout=30_000)
        expect(page.locator("#t1-src-1")).to_be_visible(timeout=30_000)  # the answer is complete
        expect(page.locator("#chat a.cite")).to_have_count(3)  # the supported sentences keep their [1]
        ask.fill("How many ferries crossed the strait according to the harbour committee?")
        ask.press("Enter")
        expect(chat).to_contain_text("[the official count](http://127.0.0.1:9/phish)", timeout=30_000)
        expect(chat).to_contain_text("[tracker](http://127.0.0.1:9/collect?q=pixel)")  # "!" ends a sentence
        expect(chat).to_contain_text("$$x^2$$")
        assert chat.locator("a:not(.cite)").count() == 0 and chat.locator("img").count() == 0
        assert chat.locator(".katex, math").count() == 0
        browser.close()
    assert outside == []


@pytest.mark.parametrize(("env", "says"), [({"QA_PORT": "99999"}, "QA_PORT=99999 is out of range: set it between 1 "
                                                                   "and 65535"),
                                           ({"QA_UI_CONCURRENCY": "0"}, "QA_UI_CONCURRENCY=0 is out of range"),
                                           ({"QA_UI_QUEUE": "-1"}, "QA_UI_QUEUE=-1 is out of range")])
def test_a_setting_the_server_cannot_work_with_stops_it_in_one_line(settings: Settings, env: dict[str, str],
                                                                  says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        settings_from_env(env)
    served = subprocess.run([sys.executable, str(PROJECT_DIR / "ui.py")], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QA_STORE": str(settings.store), "QA_ARTICLES": str(settings.articles),
                                 **env})
    assert served.returncode == 2 and served.stdout == "", served.stderr
    [line] = served.stderr.splitlines()
    assert line.startswith(f"qa: {says}") and line.endswith(", or unset it.")
