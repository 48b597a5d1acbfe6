"""Structure parsing and chunking of Korean statutes, welfare guides and manuals."""
from pathlib import Path

from ingest.chunk import make_chunks
from ingest.pipeline import load_documents
from ingest.readers import decode_text
from ingest.structure import line_anchors, outline, split_front_matter
from ingest.types import DocMeta, Page

ORDINANCE_TXT = """가온시 경로당 지원 조례
[시행 2025. 1. 1.] [가온시조례 제130호, 2024. 12. 20., 제정]
담당 부서: 노인복지과 031-000-1234
제1장 총칙
제1조(목적) 이 조례는 경로당 운영을 지원함을 목적으로 한다.
제2조(지원 대상) ① 지원 대상은 가온시에 등록된 경로당으로 한다.
② 시장은 다음 각 호의 비용을 지원할 수 있다.
1. 운영비
2. 난방비
가. 겨울철 난방비
나. 여름철 냉방비
③ 삭제 <2024. 3. 1.>
제2조의2(보고) 경로당은 매년 1월 31일까지 운영 실적을 보고하여야 한다.
제3조에 따른 내용은 본문이다.
부칙
제1조(시행일) 이 조례는 2025년 1월 1일부터 시행한다.
"""


def parse(text: str, source: str = "ordinances/test.txt"):
    front, body = split_front_matter(text)
    return outline([Page(None, body)], source, front)


def test_plain_text_ordinance_articles_and_metadata():
    plan = parse(ORDINANCE_TXT)
    assert plan.title == "가온시 경로당 지원 조례"
    assert plan.doc_type == "ordinance"
    assert plan.effective_date == "2025-01-01"
    assert plan.department.startswith("노인복지과")
    anchors = [s.anchor for s in plan.sections]
    assert anchors == ["제1조", "제2조", "제2조의2", "부칙 제1조"]
    # "제3조에 따른 …" is a reference inside 제2조의2, not a new article
    assert "제3조에 따른 내용은 본문이다." in [x.text for x in plan.sections[2].lines]
    assert plan.sections[1].title == "지원 대상"


def test_line_anchors_paragraph_item_subitem():
    lines = ["① 지원 대상은 등록된 경로당으로 한다.", "② 시장은 다음 각 호의 비용을 지원할 수 있다.", "1. 운영비", "2. 난방비",
             "가. 겨울철 난방비", "③ 삭제"]
    assert line_anchors("제2조", lines) == ["제2조 제1항", "제2조 제2항", "제2조 제2항 제1호", "제2조 제2항 제2호",
                                           "제2조 제2항 제2호", "제2조 제3항"]


def test_markdown_statute_with_addenda_blocks():
    text = ("# 테스트법\n\n> 출처 · 시행일 2025-10-01\n\n## 제1장 총칙\n\n##### 제1조 (목적)\n\n이 법은 목적을 정한다.\n\n"
            "##### 제3조 (수급권자)\n\n**①** 65세 이상인 사람에게 지급한다.\n\n## 부칙\n\n부칙 <제12617호,2014.5.20>\n\n"
            "제1조(시행일) 이 법은 2014년 7월 1일부터 시행한다.\n")
    plan = parse(text, "law_테스트법.md")
    assert plan.doc_type == "law"
    assert plan.effective_date == "2025-10-01"
    assert [s.anchor for s in plan.sections] == ["제1조", "제3조", "부칙<제12617호> 제1조"]


def test_markdown_escapes_are_read_as_the_characters_they_escape():
    """Statutes exported as Markdown write "4의2\\." so that no list starts there: it is 제4호의2, and no quote
    carries the backslash."""
    text = ("# 테스트법\n\n##### 제7조 (보호비용 지원)\n\n**①** 다음 각 호의 보호비용을 지원할 수 있다.\n\n"
            "  4. 직업훈련비\n  4의2\\. 퇴소 시 자립지원금\n  5. 그 밖에 대통령령으로 정하는 비용\n")
    lines = [x.text for x in parse(text, "law_테스트법.md").sections[0].lines]
    assert "4의2. 퇴소 시 자립지원금" in lines and not any("\\" in x for x in lines)
    assert line_anchors("제7조", lines[-4:]) == ["제7조 제1항", "제7조 제1항 제4호", "제7조 제1항 제4호의2",
                                               "제7조 제1항 제5호"]


def test_a_doubled_parenthesis_title_is_the_articles_title():
    """Some exports write "##### 제4조 ((사회봉사의 신청))": the title is 사회봉사의 신청, not a line of the text."""
    text = ("# 테스트법\n\n##### 제1조 ((목적))\n\n이 법은 목적을 정한다.\n\n"
            "##### 제4조 ((사회봉사의 신청))\n\n**①** 벌금 미납자는 사회봉사를 신청할 수 있다.\n")
    section = parse(text, "law_테스트법.md").sections[1]
    assert (section.anchor, section.title) == ("제4조", "사회봉사의 신청")
    assert [x.text for x in section.lines] == ["① 벌금 미납자는 사회봉사를 신청할 수 있다."]


def test_image_tags_are_not_text():
    """An export's image tags (a table drawn as a picture) are neither quoted nor a link out: the text around them
    stays, a line that held only the tag goes."""
    text = ("# 테스트법 시행령\n\n##### 제1조 (목적)\n\n이 영은 목적을 정한다.\n\n##### 제13조 (지원 기준)\n\n"
            "**①** 다음 표의 기준에 따라 지원한다. <img src=\"http://www.law.go.kr/flDownload.do?flSeq=1\" alt=\"img1\" >\n\n"
            "<img id=\"143984185\"></img>\n\n**②** 지원 금액은 예산의 범위에서 정한다.\n")
    lines = [x.text for x in parse(text, "decree_테스트법_시행령.md").sections[1].lines]
    assert lines == ["① 다음 표의 기준에 따라 지원한다.", "② 지원 금액은 예산의 범위에서 정한다."], lines


def test_long_article_splits_at_paragraphs_and_repeats_heading():
    items = "\n".join(f"{i}. 지원 항목 {i}에 관한 상세한 설명을 여기에 길게 적는다." * 3 for i in range(1, 12))
    text = f"제5조(지원 내용) ① 시장은 다음 각 호를 지원한다.\n{items}\n② 지원 금액은 예산의 범위에서 정한다.\n"
    plan = parse("가온시 지원 조례\n제1조(목적) 목적을 정한다.\n" + text)
    meta = DocMeta("d", "a.txt", plan.title, plan.doc_type, None, None, "public", "x")
    chunks = [c for c in make_chunks(meta, plan.sections, 400) if c.anchor.startswith("제5조")]
    assert len(chunks) > 2
    assert all(c.text.startswith("제5조(지원 내용)") for c in chunks)
    assert all(len(c.text) <= 400 for c in chunks)
    assert chunks[-1].anchor == "제5조 제2항" or chunks[-1].anchor.endswith("제2항")
    assert any("제1항 제" in c.anchor and "호" in c.anchor for c in chunks)


def test_welfare_guide_one_entry_per_service():
    text = ("# 노인 지원\n\n## 기초연금\n\n### 지원 대상\n\n만 65세 이상\n\n### 지원 내용\n\n매월 지급\n\n### 문의처\n\n"
            "노인복지과 (☎ 031-000-1234)\n\n## 노인일자리\n\n### 지원 대상\n\n만 60세 이상\n\n### 신청 방법\n\n주민센터 방문\n")
    plan = parse(text, "welfare/노인.md")
    assert plan.doc_type == "welfare"
    assert [s.anchor for s in plan.sections] == ["기초연금", "노인일자리"]
    meta = DocMeta("d", "welfare/노인.md", plan.title, plan.doc_type, None, None, "public", "x")
    chunks = make_chunks(meta, plan.sections, 700)
    assert chunks[0].department == "노인복지과 (☎ 031-000-1234)"
    assert "노인일자리" not in chunks[0].text  # no chunk mixes two services


def test_manual_heading_path_and_front_matter_audience():
    text = "---\naudience: internal\ndepartment: 민원봉사과\n---\n# 민원 매뉴얼\n\n## 1. 접수\n\n### 1.1 방문 접수\n\n창구에서 접수한다.\n"
    plan = parse(text, "manuals/m.md")
    assert plan.doc_type == "manual" and plan.audience == "internal" and plan.department == "민원봉사과"
    assert plan.sections[0].anchor == "1. 접수 > 1.1 방문 접수"


def test_cp949_text_is_decoded():
    assert decode_text("제1조(목적) 가온시".encode("cp949"), "a.txt") == "제1조(목적) 가온시"


def test_bad_files_are_reported_in_korean_and_the_rest_ingests(tmp_path: Path):
    (tmp_path / "good.txt").write_text(ORDINANCE_TXT, encoding="utf-8")
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    batch = load_documents([tmp_path])
    assert [d.meta.source for d in batch.documents] == ["good.txt"]
    reasons = {f.source: f.error for f in batch.failures}
    assert set(reasons) == {"empty.md", "broken.pdf", "image.png"}
    assert all(source in reason for source, reason in reasons.items())
    assert "비어" in reasons["empty.md"] and "형식" in reasons["image.png"]


def test_sidecar_metadata_overrides_detection(tmp_path: Path):
    (tmp_path / "notice.txt").write_text("안내문\n민원실 운영 시간은 오전 9시부터 오후 6시까지입니다.\n", encoding="utf-8")
    (tmp_path / "notice.txt.meta.json").write_text(
        '{"title": "가온시 민원실 운영 안내", "doc_type": "manual", "audience": "internal", "department": "민원봉사과"}',
        encoding="utf-8")
    batch = load_documents([tmp_path])
    assert batch.failures == ()  # the sidecar itself is not a document
    meta = batch.documents[0].meta
    assert (meta.title, meta.doc_type, meta.audience, meta.department) == ("가온시 민원실 운영 안내", "manual", "internal",
                                                                          "민원봉사과")
