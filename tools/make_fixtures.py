"""Regenerate tests/fixtures/: small good and broken files for the ingest readers (tests/test_readers.py).

Good files carry the same short ordinance (title, a heading, 제1조(목적) with ① ② paragraphs, a 2x2 table) in
each format; broken files are each broken in one way. Every file is < 100 KB.

Usage:  python tools/make_fixtures.py
Needs:  pypdf, fpdf2, a Korean TTF font (apt-get install fonts-nanum -> NanumGothic.ttf)
"""
from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures"
FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/nanum/NanumGothic.ttf"),
    Path.home() / ".fonts" / "NanumGothic.ttf",
]
STAMP = (2025, 1, 1, 0, 0, 0)  # fixed zip dates keep regenerated fixtures byte-identical

TITLE = "가온시 경로당 지원 조례"
HEADING = "제1장 총칙"
ARTICLE1 = "제1조(목적) 이 조례는 경로당 운영 지원에 필요한 사항을 정함을 목적으로 한다."
ARTICLE2 = "제2조(지원 대상) ① 시장은 관내 등록 경로당에 운영비를 지원할 수 있다."
PARA2 = "② 지원 기준은 예산의 범위에서 정한다."
TABLE = [("구분", "지원액"), ("난방비", "월 30만원")]
ADDENDA = "부칙"
ADDENDA_TEXT = "이 조례는 2025년 1월 1일부터 시행한다."


def markdown() -> str:
    rows = "\n".join(f"| {a} | {b} |" for a, b in TABLE[:1]) + "\n|---|---|\n" + "\n".join(
        f"| {a} | {b} |" for a, b in TABLE[1:])
    return (f"# {TITLE}\n\n## {HEADING}\n\n{ARTICLE1}\n\n{ARTICLE2}\n\n{PARA2}\n\n{rows}\n\n"
            f"## {ADDENDA}\n\n{ADDENDA_TEXT}\n")


def plain_text() -> str:
    rows = "\n".join(" | ".join(r) for r in TABLE)
    return f"{TITLE}\n\n{HEADING}\n{ARTICLE1}\n{ARTICLE2}\n{PARA2}\n{rows}\n\n{ADDENDA}\n{ADDENDA_TEXT}\n"


def html(charset: str) -> str:
    rows = "".join(f"<tr><{'th' if i == 0 else 'td'}>{a}</{'th' if i == 0 else 'td'}><td>{b}</td></tr>"
                   for i, (a, b) in enumerate(TABLE))
    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="{charset}"><title>{TITLE}</title>
<style>p {{ color: black; }}</style><script>var 메뉴 = "건너뛸 스크립트";</script></head>
<body><nav><a href="/">홈</a> &gt; 자치법규</nav>
<h1>{TITLE}</h1>
<h2>{HEADING}</h2>
<p>{ARTICLE1}</p>
<p>{ARTICLE2}<br>{PARA2}</p>
<table>{rows}</table>
<h2>{ADDENDA}</h2><div>{ADDENDA_TEXT}</div>
</body></html>
"""


def find_font() -> Path:
    for p in FONT_CANDIDATES:
        if p.exists():
            return p
    sys.exit("Korean font NanumGothic.ttf not found: apt-get install -y fonts-nanum")


def new_pdf():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=timezone.utc))
    pdf.add_font("Nanum", "", str(find_font()))
    pdf.set_font("Nanum", size=11)
    return pdf


def pdf_bytes() -> bytes:
    """Two pages, so that page numbers can be checked: the title and 제1조 on page 1, the rest on page 2."""
    pdf = new_pdf()
    pdf.add_page()
    for line in (TITLE, HEADING, ARTICLE1):
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    for line in (ARTICLE2, PARA2, *(" | ".join(r) for r in TABLE), ADDENDA, ADDENDA_TEXT):
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def image_only_pdf() -> bytes:
    """What a scanner without OCR produces: a page with graphics and no text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=timezone.utc))
    pdf.add_page()
    pdf.set_fill_color(120, 120, 120)
    pdf.rect(20, 20, 170, 60, style="F")
    pdf.rect(20, 100, 170, 120, style="D")
    return bytes(pdf.output())


def encrypted_pdf(plain: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    writer.encrypt(user_password="비밀1234", owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes | str], compress=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, STAMP)
            # HWPX wants its mimetype first and stored, like ODF/EPUB
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else compress
            zf.writestr(info, data)
    return buf.getvalue()


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_bytes(document_xml: str | None = None) -> bytes:
    """Minimal OOXML: content types, the package relationship, styles and the document.

    Style ids are Korean Word's ("1" for 제목 1), so the reader must go by style names, not ids."""

    def para(text: str, style: str | None = None) -> str:
        ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'

    def cell(text: str) -> str:
        return f"<w:tc><w:tcPr><w:tcW w:w='2000' w:type='dxa'/></w:tcPr>{para(text)}</w:tc>"

    rows = "".join(f"<w:tr>{cell(a)}{cell(b)}</w:tr>" for a, b in TABLE)
    body = (para(TITLE, "a3") + para(HEADING, "1") + para(ARTICLE1) + para(ARTICLE2) + para(PARA2)
            + f"<w:tbl><w:tblPr><w:tblW w:w='0' w:type='auto'/></w:tblPr>{rows}</w:tbl>"
            + para(ADDENDA, "1") + para(ADDENDA_TEXT))
    document_xml = document_xml or (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}"><w:body>{body}'
        '<w:sectPr/></w:body></w:document>')
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles xmlns:w="{W}">'
              '<w:style w:type="paragraph" w:default="1" w:styleId="a"><w:name w:val="Normal"/></w:style>'
              '<w:style w:type="paragraph" w:styleId="a3"><w:name w:val="Title"/></w:style>'
              '<w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/>'
              '<w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style></w:styles>')
    return zip_bytes({
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/word/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>'),
        "word/_rels/document.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>'),
        "word/document.xml": document_xml,
        "word/styles.xml": styles,
    })


def bomb_docx() -> bytes:
    """A ~20 KB .docx whose document.xml expands to 20 MB of whitespace: a ratio of about 1000."""
    filler = " " * (20 * 2**20)
    doc = (f'<?xml version="1.0" encoding="UTF-8"?>\n<w:document xmlns:w="{W}"><w:body>'
           f'<w:p><w:r><w:t>{TITLE}</w:t></w:r></w:p>{filler}</w:body></w:document>')
    return docx_bytes(doc)


HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HH = "http://www.hancom.co.kr/hwpml/2011/head"
HS = "http://www.hancom.co.kr/hwpml/2011/section"
HPF = "http://www.idpf.org/2007/opf/"


def hwpx_bytes() -> bytes:
    """A minimal HWPX package as 한글 writes it: mimetype, version, container, content.hpf, header, section0.

    paraPr 1 is an outline (개요 1) shape, so the heading paragraph must come out as a `#` line."""

    def para(text: str, pid: int = 0, pr: int = 0) -> str:
        return (f'<hp:p id="{pid}" paraPrIDRef="{pr}" styleIDRef="0"><hp:run charPrIDRef="0">'
                f'<hp:t>{text}</hp:t></hp:run></hp:p>')

    def cell(text: str, row: int, col: int) -> str:
        return (f'<hp:tc><hp:subList>{para(text)}</hp:subList><hp:cellAddr colAddr="{col}" rowAddr="{row}"/>'
                '<hp:cellSpan colSpan="1" rowSpan="1"/></hp:tc>')

    rows = "".join(f"<hp:tr>{cell(a, r, 0)}{cell(b, r, 1)}</hp:tr>" for r, (a, b) in enumerate(TABLE))
    table = (f'<hp:p id="9" paraPrIDRef="0"><hp:run charPrIDRef="0"><hp:tbl rowCnt="2" colCnt="2">{rows}</hp:tbl>'
             '<hp:t/></hp:run></hp:p>')
    # ② has a tab inside hp:t, as 한글 writes it: the text after it sits in the tab element's tail
    art2 = (f'<hp:p id="5" paraPrIDRef="0"><hp:run charPrIDRef="0"><hp:t>{ARTICLE2}</hp:t></hp:run></hp:p>'
            f'<hp:p id="6" paraPrIDRef="0"><hp:run charPrIDRef="0"><hp:t>② 지원 기준은<hp:tab/>예산의 범위에서'
            ' 정한다.</hp:t></hp:run></hp:p>')
    section = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<hs:sec xmlns:hs="{HS}" xmlns:hp="{HP}">'
               + para(TITLE, 1) + para(HEADING, 2, pr=1) + para(ARTICLE1, 3) + art2 + table
               + para(ADDENDA, 10, pr=1) + para(ADDENDA_TEXT, 11) + "</hs:sec>")
    header = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<hh:head xmlns:hh="{HH}" version="1.4" '
              'secCnt="1"><hh:refList><hh:paraProperties itemCnt="2">'
              '<hh:paraPr id="0"><hh:heading type="NONE" idRef="0" level="0"/></hh:paraPr>'
              '<hh:paraPr id="1"><hh:heading type="OUTLINE" idRef="0" level="0"/></hh:paraPr>'
              "</hh:paraProperties></hh:refList></hh:head>")
    return zip_bytes({
        "mimetype": "application/hwp+zip",
        "version.xml": '<?xml version="1.0" encoding="UTF-8"?><hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/'
                       'hwpml/2011/version" tagetApplication="WORDPROCESSOR" major="5" minor="1"/>',
        "META-INF/container.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><ocf:container xmlns:ocf="urn:oasis:names:tc:opendocument:xmlns:'
            'container"><ocf:rootfiles><ocf:rootfile full-path="Contents/content.hpf" media-type="application/'
            'hwpml-package+xml"/></ocf:rootfiles></ocf:container>'),
        "Contents/content.hpf": (
            f'<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="{HPF}"><opf:manifest>'
            '<opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>'
            '<opf:item id="section0" href="Contents/section0.xml" media-type="application/xml"/></opf:manifest>'
            '<opf:spine><opf:itemref idref="header"/><opf:itemref idref="section0"/></opf:spine></opf:package>'),
        "Contents/header.xml": header,
        "Contents/section0.xml": section,
    })


def png_bytes() -> bytes:
    """A 1x1 grey PNG, written by hand so that no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def build() -> dict[str, bytes]:
    pdf = pdf_bytes()
    hwpx = hwpx_bytes()
    docx = docx_bytes()
    return {
        # good
        "good/ordinance.md": markdown().encode(),
        "good/ordinance_utf8.txt": plain_text().encode(),
        "good/ordinance_cp949.txt": plain_text().encode("cp949"),
        "good/ordinance_euckr.html": html("euc-kr").encode("euc-kr"),
        "good/ordinance_utf8.htm": html("utf-8").encode(),
        "good/ordinance.pdf": pdf,
        "good/ordinance.docx": docx,
        "good/ordinance.hwpx": hwpx,
        "good/renamed_pdf.docx": pdf,  # a PDF saved under a .docx name: read as the PDF it is
        "good/renamed_hwpx.pdf": hwpx,  # a zip (HWPX) under a .pdf name
        # broken: each file below must be reported with its name and a Korean reason, and skipped
        "broken/truncated.pdf": pdf[: len(pdf) * 2 // 3],
        "broken/encrypted.pdf": encrypted_pdf(pdf),
        "broken/empty.txt": b"",
        "broken/blank.md": "  \n\n\u3000\n".encode(),
        "broken/scanned.pdf": image_only_pdf(),
        "broken/bomb.docx": bomb_docx(),
        "broken/truncated.docx": docx[: len(docx) // 2],
        "broken/no_body.hwpx": zip_bytes({"mimetype": "application/hwp+zip", "version.xml": "<v/>"}),
        "broken/image.png": png_bytes(),
        "broken/photo_named.pdf": png_bytes(),  # an image saved under a .pdf name
        "broken/old_v3.hwp": b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + bytes(100),
        "broken/not_ole.hwp": "이 파일은 한글 문서가 아닙니다".encode() + bytes(64),
        "broken/binary.txt": bytes(range(256)) * 4,
    }


def main() -> None:
    for rel, data in build().items():
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        assert len(data) < 100_000, (rel, len(data))
        print(f"{len(data):>7}  {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
