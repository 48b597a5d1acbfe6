"""Readers: every format keeps its text, page numbers and structure lines; every broken file is reported, not lost.

Fixtures are made by tools/make_fixtures.py. The real HWP 5.0 sample lives in ../shared (not in this repository)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest import readers
from ingest.errors import (CorruptDocument, EmptyDocument, EncryptedDocument, IngestError, NeedsOCR, TooLarge,
                           UnknownEncoding, UnsupportedFormat)
from ingest.pipeline import load_documents
from ingest.readers import read_pages

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOOD = FIXTURES / "good"
BROKEN = FIXTURES / "broken"
HWP_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ingest" / "ordinance_c.hwp"
needs_hwp_sample = pytest.mark.skipif(not HWP_SAMPLE.is_file(), reason=f"shared HWP sample not found: {HWP_SAMPLE}")

ARTICLE1 = "제1조(목적) 이 조례는 경로당 운영 지원에 필요한 사항을 정함을 목적으로 한다."
ARTICLE2 = "제2조(지원 대상) ① 시장은 관내 등록 경로당에 운영비를 지원할 수 있다."
PARA2 = "② 지원 기준은 예산의 범위에서 정한다."
TABLE_ROWS = ["구분 | 지원액", "난방비 | 월 30만원"]


def lines_of(path: Path) -> list[str]:
    return [x.strip() for p in read_pages(path, path.name) for x in p.text.splitlines() if x.strip()]


# ------------------------------------------------------------------ good files

@pytest.mark.parametrize("name", ["ordinance_utf8.txt", "ordinance_cp949.txt", "ordinance.md",
                                  "ordinance_euckr.html", "ordinance_utf8.htm", "ordinance.docx", "ordinance.hwpx"])
def test_each_format_keeps_articles_paragraphs_and_table_rows(name):
    lines = lines_of(GOOD / name)
    assert ARTICLE1 in lines  # statute text comes through as its own line
    assert ARTICLE2 in lines and PARA2 in lines
    if name != "ordinance.md":  # markdown keeps its own `| a | b |` table syntax
        assert TABLE_ROWS[0] in lines and TABLE_ROWS[1] in lines


@pytest.mark.parametrize("name", ["ordinance_euckr.html", "ordinance_utf8.htm", "ordinance.docx"])
def test_title_and_headings_become_markdown_headings(name):
    lines = lines_of(GOOD / name)
    assert lines[0] == "# 가온시 경로당 지원 조례"
    assert "## 제1장 총칙" in lines and "## 부칙" in lines


def test_hwpx_outline_paragraphs_become_headings_under_the_plain_title():
    lines = lines_of(GOOD / "ordinance.hwpx")
    assert lines[0] == "가온시 경로당 지원 조례"  # plain paragraph: structure.find_title's fallback takes it
    assert "## 제1장 총칙" in lines and "## 부칙" in lines


def test_html_drops_script_style_and_nav():
    text = "\n".join(lines_of(GOOD / "ordinance_euckr.html"))
    assert "건너뛸 스크립트" not in text and "color" not in text and "자치법규" not in text


def test_html_tables_without_end_tags_and_nested_tables_stay_row_by_row(tmp_path):
    page = tmp_path / "old.html"
    page.write_bytes("<table><tr><th>구분<th>지원액<tr><td>난방비<td>월 30만원</table>"
                     "<table><tr><td>바깥<table><tr><td>안1<td>안2</table><td>옆</table>".encode("cp949"))
    assert lines_of(page) == TABLE_ROWS + ["바깥 안1 안2 | 옆"]


def test_pdf_keeps_page_numbers():
    pages = read_pages(GOOD / "ordinance.pdf", "ordinance.pdf")
    assert [p.number for p in pages] == [1, 2]
    assert "제1조(목적)" in pages[0].text and "제2조(지원 대상)" in pages[1].text


def test_cp949_and_utf16_text_decode():
    assert readers.decode_text("경로당".encode("cp949"), "x.txt") == "경로당"
    assert readers.decode_text("경로당".encode("euc-kr"), "x.txt") == "경로당"
    assert readers.decode_text("\ufeff경로당".encode("utf-16-le"), "x.txt") == "경로당"
    with pytest.raises(UnknownEncoding):
        readers.decode_text(b"\xff\xfe\x00\xd8", "x.txt")  # a lone surrogate cannot be UTF-16


def test_wrongly_named_documents_are_read_as_what_they_are():
    pdf_as_docx = read_pages(GOOD / "renamed_pdf.docx", "renamed_pdf.docx")
    assert [p.number for p in pdf_as_docx] == [1, 2]
    assert ARTICLE1 in lines_of(GOOD / "renamed_hwpx.pdf")


@needs_hwp_sample
def test_real_hwp5_sample_reads_korean_text_and_table():
    lines = lines_of(HWP_SAMPLE)
    assert lines[0] == "한글 2005 예제 파일입니다."
    assert any(x.startswith("본문 내용입니다.") for x in lines)
    assert "A0 | B0" in lines and "A1 | B10 B11" in lines  # the 2x2 table, one line per row
    assert "이건 각주이지요." in lines and "미주입니다." in lines  # footnote and endnote are kept


@needs_hwp_sample
def test_hwp_renamed_txt_is_read_as_hwp(tmp_path):
    target = tmp_path / "ordinance_c.txt"
    shutil.copyfile(HWP_SAMPLE, target)
    assert "한글 2005 예제 파일입니다." in lines_of(target)


def encrypted_hwp(tmp_path: Path, bit: int) -> Path:
    olefile = pytest.importorskip("olefile")
    target = tmp_path / "encrypted.hwp"
    shutil.copyfile(HWP_SAMPLE, target)
    with olefile.OleFileIO(str(target), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        header[36] |= bit  # FileHeader properties: bit 1 password, bit 2 distribution document
        ole.write_stream("FileHeader", bytes(header))
    return target


@needs_hwp_sample
@pytest.mark.parametrize("bit", [0x02, 0x04])
def test_encrypted_or_distribution_hwp_is_reported(tmp_path, bit):
    with pytest.raises(EncryptedDocument, match="encrypted.hwp: 암호가 걸린"):
        read_pages(encrypted_hwp(tmp_path, bit), "encrypted.hwp")


def test_hwp_record_parser_skips_controls():
    # "가" + a tab control (8 units) + "나" + an extended control (8 units, e.g. a table) + "다" + paragraph end
    units = [0xAC00, 9, 0, 0, 0, 0, 0, 0, 9, 0xB098, 11, 0, 0, 0, 0, 0, 0, 11, 0xB2E4, 13]
    payload = b"".join(u.to_bytes(2, "little") for u in units)
    assert readers.hwp_para_text(payload) == "가 나\n다"


# ------------------------------------------------------------------ broken files

BROKEN_CASES = {
    "truncated.pdf": (CorruptDocument, "잘렸을 수"),
    "encrypted.pdf": (EncryptedDocument, "암호"),
    "empty.txt": (EmptyDocument, "비어"),
    "blank.md": (EmptyDocument, "비어"),
    "scanned.pdf": (NeedsOCR, "OCR"),
    "bomb.docx": (TooLarge, "압축 폭탄"),
    "truncated.docx": (CorruptDocument, "손상"),
    "no_body.hwpx": (CorruptDocument, "section"),
    "image.png": (UnsupportedFormat, ".png"),
    "photo_named.pdf": (UnsupportedFormat, "확장자는 .pdf이지만 실제 내용은 PNG 이미지"),
    "old_v3.hwp": (UnsupportedFormat, "HWP 3.x"),
    "not_ole.hwp": (CorruptDocument, "OLE"),
    "binary.txt": (CorruptDocument, "이진"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_file_gives_korean_reason_naming_the_file(name):
    error, words = BROKEN_CASES[name]
    with pytest.raises(error) as info:
        read_pages(BROKEN / name, f"broken/{name}")
    assert str(info.value).startswith(f"broken/{name}: ")
    assert words in str(info.value)


def test_every_broken_fixture_has_a_case():
    assert {p.name for p in BROKEN.iterdir()} == set(BROKEN_CASES)


def test_zip_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(readers.limits, "MAX_UNPACKED", 1000)  # the good DOCX unpacks to a few KB
    with pytest.raises(TooLarge, match="압축을 풀면"):
        read_pages(GOOD / "ordinance.docx", "ordinance.docx")


def test_unexpected_reader_bug_stays_an_ingest_error_or_crash_report(tmp_path):
    # random bytes under every supported suffix: a typed Korean error each time, never an unhandled exception
    junk = bytes((i * 37 + 11) % 256 for i in range(3000))
    for suffix in sorted(readers.supported_suffixes()):
        path = tmp_path / f"junk{suffix}"
        path.write_bytes(junk)
        with pytest.raises(IngestError) as info:
            read_pages(path, path.name)
        assert str(info.value).startswith(f"{path.name}: ")


# ------------------------------------------------------------------ a mixed batch

def test_mixed_folder_ingests_every_good_file_and_lists_every_broken_one(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES, corpus)
    good = {f"good/{p.name}" for p in GOOD.iterdir()}
    if HWP_SAMPLE.is_file():
        shutil.copyfile(HWP_SAMPLE, corpus / "good" / "sample.hwp")
        good.add("good/sample.hwp")
    with (corpus / "big.txt").open("wb") as fh:  # sparse: 51 MB on paper, over the pipeline's 50 MB default
        fh.truncate(51 * 2**20)

    batch = load_documents([corpus])

    assert {d.meta.source for d in batch.documents} == good
    failed = {f.source: f.error for f in batch.failures}
    assert set(failed) == {f"broken/{n}" for n in BROKEN_CASES} | {"big.txt"}
    for source, error in failed.items():
        assert error.startswith(f"{source}: ")
        assert "예기치 못한" not in error  # every failure is a typed, explained one, not a crash
    assert "허용 크기" in failed["big.txt"]
    pdf = next(d for d in batch.documents if d.meta.source == "good/ordinance.pdf")
    assert [(c.anchor, c.page) for c in pdf.chunks] == [("제1조", 1), ("제2조", 2), ("부칙", 2)]
    for doc in batch.documents:
        if doc.meta.source != "good/sample.hwp":
            assert doc.meta.title == "가온시 경로당 지원 조례" and doc.meta.doc_type == "ordinance", doc.meta.source
            assert [c.anchor for c in doc.chunks][:2] == ["제1조", "제2조"], doc.meta.source
