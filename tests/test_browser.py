"""End to end in a real browser: `python -m assistant serve` on loopback (with outbound networking blocked), Debian's
chromium driven by Playwright: ask on the staff chat and open a citation, ask on the kiosk (every example question of
its front page, each answered from the section it asks about), go through the kiosk's welfare finder, log in to the
admin console, read the AI register; a screenshot of each page goes to docs/screenshots/ (welfare.png for the
finder's results, checked to draw Hangul). No Streamlit "Deploy" toolbar, feedback labels in full. And the HTTP API's
/docs page with the browser cut off from everything but loopback (api-docs.png)."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, cli_env

CHROMIUM = Path("/usr/bin/chromium")
# the kiosk's example questions (ui/messages.py) and where each answer must come from: the first place it names
EXAMPLE_SOURCES = {
    "기초연금은 몇 살부터 받을 수 있나요?": "「기초연금」 안내의 ‘지원 대상’",
    "아동수당은 누가 받을 수 있나요?": "「아동수당」 안내의 ‘지원 대상’",
    "장애인 활동지원은 어떻게 신청하나요?": "「장애인 활동지원」 안내의 ‘신청 방법’",
    "청년 월세 지원이 있나요?": "「가온시 청년 기본 조례」 제9조",
}
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "browser-test-admin"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
# the network cut off for the browser: anything but loopback (which Chromium never proxies) goes to a closed port
OFFLINE = ["--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 45, path: str = "/_stcore/health") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("server did not become healthy")


@contextlib.contextmanager
def running(command: str, assistant, port: int, env: dict, log_path: Path, health: str = "/_stcore/health"):
    """`assistant serve|api` on loopback in its own process group (`serve` runs streamlit as a child), its URL."""
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", command, "--index", str(assistant.settings.index_dir),
                             "--port", str(port)], env=env, cwd=log_path.parent, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, path=health)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture()
def server(assistant, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium fonts-noto-cjk; see scripts/install.sh)")
    from ui.admin_hash import make_hash

    port = free_port()
    env = cli_env(PYTHONPATH=f"{ROOT / 'tests' / 'netguard'}:{ROOT}",
                  ASSISTANT_ADMIN_PASSWORD_HASH=make_hash(PASSWORD, iterations=1000),
                  ASSISTANT_FEEDBACK_DIR=str(tmp_path / "feedback"), ASSISTANT_CORPUS_DIR=str(tmp_path / "corpus"))
    with running("serve", assistant, port, env, tmp_path / "server.log") as url:
        yield url


def test_pages_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
            page.set_default_timeout(40_000)
            shown = lambda text: expect(page.get_by_text(text).first).to_be_visible()  # noqa: E731

            # staff chat (the default page, at /): ask, see the answer with a citation, open the citation in the side
            # panel; the page list and titles are the app's own (ui/app.py ran, not a bare page file)
            page.goto(server)
            shown("가온시 행정 도우미")
            expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text("직원용 질의응답")
            expect(page).to_have_title("가온시 행정 도우미")
            no_toolbar(page)
            box = page.locator('[data-testid="stChatInputTextArea"]')
            box.fill("기초연금은 몇 살부터 받을 수 있나요?")
            box.press("Enter")
            citation = page.get_by_role("button", name="[기초연금").first
            expect(citation).to_be_visible(timeout=60_000)
            shown("65세")
            settle(page)
            for label in ("도움이 됨", "도움이 안 됨"):  # the feedback buttons' labels are shown in full, not "도…"
                button = page.get_by_role("button", name=label, exact=True).first
                expect(button).to_be_visible(timeout=30_000)
                assert label_fits(button), f"feedback label cut: {label}"
            citation.click()
            expect(page.locator(".source-text mark").first).to_be_visible()
            settle(page)
            page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)
            # a follow-up without its subject is answered about the same one, and says so
            box.fill("신청은 어디서 하나요?")
            box.press("Enter")
            shown("기초연금에 대해 이어서 답합니다")
            settle(page)
            page.get_by_text("기초연금에 대해 이어서 답합니다").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "chat-follow-up.png"), full_page=True)

            # kiosk: every example question of the front page as a big button, each answered in plain Korean from
            # the section it asks about (a fresh visitor each: "처음으로" in between)
            from ui.messages import MESSAGES

            examples = MESSAGES["ko"]["kiosk_examples"]
            assert set(examples) == set(EXAMPLE_SOURCES)
            page.goto(f"{server}/kiosk")
            shown("무엇을 도와드릴까요?")
            no_toolbar(page)
            for i, example in enumerate(examples, 1):
                page.get_by_role("button", name=example).click()
                where = page.get_by_text("찾은 곳:").or_(page.get_by_text("찾지 못했어요")).first
                expect(where).to_be_visible(timeout=60_000)
                settle(page)
                main = page.locator('[data-testid="stMain"]').inner_text()
                assert "문서에서 확인할 수 없습니다" not in main and "찾지 못했어요" not in main, (example, main[-800:])
                assert "어느 것이 궁금하세요?" not in main, f"{example}: asked back instead of answered"
                assert where.inner_text().startswith(f"찾은 곳: {EXAMPLE_SOURCES[example]}"), (example, where.inner_text())
                # Streamlit scrolls inside its own container: the question asked and the answer at the top
                page.get_by_text("물어보신 내용").first.evaluate("e => e.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                page.screenshot(path=str(SHOTS / f"kiosk-example-{i}.png"), full_page=True)
                page.get_by_role("button", name="처음으로").first.click()
                expect(page.get_by_text("찾은 곳:")).to_have_count(0)  # the reset has run: fresh buttons to press
                settle(page)
            page.get_by_role("button", name="기초연금은 몇 살부터 받을 수 있나요?").click()
            shown("찾은 곳")
            finder = page.get_by_role("button", name="내가 받을 수 있는 복지 서비스 찾기")
            expect(finder).to_be_enabled()
            settle(page)
            page.screenshot(path=str(SHOTS / "kiosk.png"), full_page=True)
            page.get_by_label("질문을 적어 주세요").fill("신청은 어디서 하나요?")
            page.get_by_role("button", name="물어보기").click()
            shown("기초연금에 대해 이어서 답합니다")
            settle(page)
            page.get_by_text("기초연금에 대해 이어서 답합니다").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "kiosk-follow-up.png"), full_page=True)

            # kiosk welfare finder: one question per screen with large buttons, then the services as cards
            # each press waits for the rerun it starts: a click on a button about to be replaced is lost (seen in CI)
            finder.click()
            settle(page)
            for label in ("65세 이상", "혼자 살아요", "기준 중위소득의 30% 이하", "아니오", "은퇴"):
                page.get_by_role("button", name=label, exact=True).click()
                settle(page)
            expect(page.get_by_role("heading", name="기초연금", exact=True)).to_be_visible()
            shown("신청 가능성 높음")
            shown("만 65세 이상이고 소득인정액이 선정기준액 이하인 사람이 받을 수 있습니다.")
            page.get_by_text("어디에 신청하나요?").first.click()
            shown("담당 부서:")
            settle(page)
            # Streamlit scrolls inside its own container: a tall viewport, scrolled to the top, shows the first card
            page.set_viewport_size({"width": 1400, "height": 2400})
            page.get_by_text("받을 수 있을지도 모르는 복지 서비스").scroll_into_view_if_needed()
            page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / "welfare.png"), full_page=True)
            page.set_viewport_size({"width": 1400, "height": 1000})
            assert hangul_renders(page), "Hangul is drawn as empty boxes: install fonts-noto-cjk"
            # "처음으로" forgets the answers: back on the start screen
            page.get_by_role("button", name="처음으로").first.click()
            shown("자주 묻는 질문")
            expect(page.get_by_role("heading", name="기초연금", exact=True)).to_have_count(0)

            # admin, reached by a deep link: refused without the password, open with it
            page.goto(f"{server}/admin")
            expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text("관리자")
            page.get_by_label("관리자 비밀번호").fill("wrong")
            page.get_by_role("button", name="로그인").click()
            shown("비밀번호가 맞지 않습니다.")
            page.get_by_label("관리자 비밀번호").fill(PASSWORD)
            page.get_by_role("button", name="로그인").click()
            expect(page.get_by_role("tab", name="문서 올리기")).to_be_visible()
            shown("다시 색인하기")
            settle(page)
            page.screenshot(path=str(SHOTS / "admin.png"), full_page=True)

            # the public AI register
            page.goto(f"{server}/register")
            shown("AI 사용 등록부")
            expect(page.get_by_role("heading", name="AI 활용 등록부").or_(
                page.get_by_text("등록부를 준비 중입니다")).first).to_be_visible()
            settle(page)
            page.screenshot(path=str(SHOTS / "register.png"), full_page=True)
        finally:
            browser.close()
    for name in ("chat", "kiosk", "welfare", "admin", "register", "kiosk-example-1"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000
    assert time.monotonic() - started < 150


@pytest.fixture()
def api_server(assistant, tmp_path):
    """`assistant api` on loopback, with outbound connections blocked in the server process."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium fonts-noto-cjk; see scripts/install.sh)")
    port = free_port()
    env = cli_env(PYTHONPATH=f"{ROOT / 'tests' / 'netguard'}:{ROOT}", ASSISTANT_AUDIT_ENABLED="0")
    with running("api", assistant, port, env, tmp_path / "api.log", health="/healthz") as url:
        yield url


def test_api_docs_page_works_offline(api_server):
    """/docs renders Swagger UI from the installed package with the browser cut off from everything but loopback
    (every other address goes to a closed proxy port), and asks for nothing outside 127.0.0.1."""
    from urllib.parse import urlsplit

    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS + OFFLINE, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
            page.set_default_timeout(30_000)
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{api_server}/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("가온 행정 도우미 API")
            expect(page.locator(".opblock-summary-path", has_text="/v1/ask").first).to_be_visible()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SHOTS / "api-docs.png"), full_page=True)
        finally:
            browser.close()
    assert (SHOTS / "api-docs.png").stat().st_size > 10_000
    assert any(u.endswith("swagger-ui-bundle.js") for u in requested), requested
    outside = [u for u in requested if urlsplit(u).hostname != "127.0.0.1" and not u.startswith(("data:", "blob:"))]
    assert not outside, outside


def no_toolbar(page) -> None:
    """No Streamlit "Deploy" button or developer menu (client.toolbarMode = minimal) once the page has drawn."""
    settle(page)
    expect_count = page.locator('[data-testid="stAppDeployButton"], [data-testid="stMainMenu"]').count()
    assert expect_count == 0, "Streamlit's toolbar (Deploy / main menu) is shown"


def label_fits(button) -> bool:
    """Every element inside the button shows its whole text: nothing clipped or cut with an ellipsis."""
    return button.evaluate("""b => [b, ...b.querySelectorAll('*')].every(e =>
        e.scrollWidth <= e.clientWidth + 1 || getComputedStyle(e).overflow === 'visible'
        && getComputedStyle(e).textOverflow !== 'ellipsis')""")


def hangul_renders(page) -> bool:
    """Whether this browser draws Hangul with the page's fonts (the screenshots' fonts): two syllables drawn in the
    page's own font stack differ from each other and from a codepoint no font has (drawn as the missing-glyph box)."""
    page.evaluate("""() => {
        const d = document.createElement('div');
        d.id = 'hangul-check';
        d.style.cssText = 'position:fixed;top:0;left:0;z-index:99999;background:#fff;color:#000;font-size:64px';
        d.innerHTML = '<span id="hc-a">가</span> <span id="hc-b">힣</span> <span id="hc-x">\u0378</span>';
        (document.querySelector('[data-testid="stMain"]') || document.body).appendChild(d);
    }""")
    try:
        a, b, missing = (page.locator(f"#hc-{x}").screenshot() for x in "abx")
    finally:
        page.evaluate("() => document.getElementById('hangul-check').remove()")
    return a != b and a != missing and b != missing


def settle(page) -> None:
    """Waits for the script run to finish (no running indicator, no placeholders), then checks for errors."""
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-testid="stSkeleton"]')""", timeout=60_000)
    page.wait_for_timeout(400)
    assert page.locator('[data-testid="stException"]').count() == 0
    print("NAV", page.locator('[data-testid="stSidebarNav"]').all_inner_texts())


def test_statute_chain_in_the_source_pane(assistant, tmp_path):
    """#30: an answer along 법률 -> 시행령; the cited law article's pane shows its chain and the articles side by side."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium fonts-noto-cjk; see scripts/install.sh)")
    import shutil

    from playwright.sync_api import expect, sync_playwright

    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "tests" / "statute_family", docs)
    family = assistant.clone(index_dir=tmp_path / "index", corpus_dir=docs)
    family.ingest([docs])
    env = cli_env(PYTHONPATH=f"{ROOT / 'tests' / 'netguard'}:{ROOT}", ASSISTANT_FEEDBACK_DIR=str(tmp_path / "fb"))
    with running("serve", family, free_port(), env, tmp_path / "server.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS + OFFLINE, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
            page.set_default_timeout(40_000)
            page.goto(url)
            box = page.locator('[data-testid="stChatInputTextArea"]')
            box.fill("돌이 안 지난 아기는 아동수당을 한 달에 얼마 더 받을 수 있나요?")
            box.press("Enter")
            citation = page.get_by_role("button", name="[아동수당법 제4조 제5항]").first
            expect(citation).to_be_visible(timeout=60_000)
            expect(page.get_by_text("매월 100만원").first).to_be_visible()
            settle(page)
            citation.click()
            expect(page.get_by_text("법령 체계 (위임·근거)").first).to_be_visible()
            expect(page.get_by_text("위임(하위 법령): 「아동수당법 시행령」 제2조").first).to_be_visible()
            expect(page.get_by_text("조문 비교 (법률 · 시행령 · 시행규칙 · 조례)").first).to_be_visible()
            expect(page.locator(".source-text", has_text="1세 미만의 아동: 매월 100만원").first).to_be_visible()
            settle(page)
            page.screenshot(path=str(SHOTS / "chain.png"), full_page=True)
        finally:
            browser.close()


def test_review_queue_label_and_regression_in_a_real_browser(assistant, tmp_path):
    """#31: two 👎 answers wait in the admin's review queue; the admin picks the passage that answers the newest,
    names themselves, saves, and evaluates the organisation's regression set (n = 1) from the page; review.png shows
    the other question still waiting, with its candidate passages, above the figures."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium fonts-noto-cjk; see scripts/install.sh)")
    import json
    import shutil

    from playwright.sync_api import expect, sync_playwright

    from ui.admin_hash import make_hash

    question = "우리 동네 경로당은 겨울철 난방비를 한 달에 얼마까지 지원받을 수 있나요?"  # corpora/qa.jsonl corp-003
    waiting = "가온시에서 노인 공익활동 일자리에 참여하면 한 달에 활동비를 얼마나 받나요?"  # corp-001
    shutil.copytree(assistant.settings.index_dir, tmp_path / "index")  # the evaluation writes into index/eval/
    bot = assistant.clone(index_dir=tmp_path / "index", feedback_dir=str(tmp_path / "feedback"),
                          audit_dir=str(tmp_path / "audit"))
    for asked in (waiting, question):  # the newest first in the queue: `question`
        bot.save_feedback("down", "", asked, bot.ask(asked))
    env = cli_env(PYTHONPATH=f"{ROOT / 'tests' / 'netguard'}:{ROOT}",
                  ASSISTANT_ADMIN_PASSWORD_HASH=make_hash(PASSWORD, iterations=1000),
                  ASSISTANT_FEEDBACK_DIR=str(tmp_path / "feedback"), ASSISTANT_AUDIT_DIR=str(tmp_path / "audit"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running("serve", bot, free_port(), env, tmp_path / "server.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS + OFFLINE, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
            page.set_default_timeout(60_000)
            shown = lambda text: expect(page.get_by_text(text).first).to_be_visible(timeout=90_000)  # noqa: E731
            page.goto(f"{url}/admin")
            page.get_by_label("관리자 비밀번호").fill(PASSWORD)
            page.get_by_role("button", name="로그인").click()
            page.get_by_role("tab", name="검토 대기열").click()
            shown("검토 대기 2건")
            settle(page)
            page.locator('[data-testid="stRadio"] label', has_text="가온시 노인복지 증진 조례 · 제7조").first.click()
            settle(page)
            reviewer = page.get_by_label("검토자", exact=True).and_(page.get_by_role("textbox"))
            reviewer.fill("김검토")
            reviewer.press("Enter")
            settle(page)
            page.get_by_role("button", name="라벨 저장").click()
            shown("라벨을 저장했습니다")
            shown("검토 대기 1건")
            [label] = [json.loads(x) for x in (tmp_path / "feedback" / "labels.jsonl").read_text("utf-8").splitlines()]
            assert label["question"] == question and label["anchor"] == "제7조" and label["labelled_by"] == "김검토"
            assert label["doc"].endswith("가온시_노인복지_증진_조례.md") and label["kind"] == "fact"
            settle(page)  # a click while the save's rerun is still drawing lands on a button about to be replaced
            page.get_by_role("button", name="지금 평가").click()
            shown("평가를 마쳤습니다: 라벨 1개 · recall@1 1.000")
            expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(timeout=30_000)
            settle(page)
            # Streamlit scrolls inside its own container: a tall viewport shows the queue and the figures together
            page.set_viewport_size({"width": 1400, "height": 4400})
            page.get_by_role("tab", name="검토 대기열").scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
        finally:
            browser.close()
    assert (SHOTS / "review.png").stat().st_size > 10_000
    [row] = bot.regression_history()
    assert row["n"] == 1 and row["recall@1"] == 1.0
