"""What a question asks for, read from how it asks: a welfare guide's section (who may receive, how much, where to
apply, which papers, whom to call, under which law) and whether a figure it wants is money or a share.

Guides answer each of these in a section of its own (`지원 대상`, `지원 내용`, `신청 방법`, `구비 서류`, `문의처`,
`법적 근거`, the field names `ingest.structure.WELFARE_FIELDS` knows); the quote and the figure lead must come from
the section asked about, not from the one that merely shares the service's name. The cues are the everyday forms
of asking (누가, 얼마, 어디서, 무슨 서류, 전화, 근거 법), not the words of any document."""
from __future__ import annotations

import re

# "얼마" asks for an amount, "얼마 만에 / 얼마 동안" for a time
HOW_MUCH = r"얼마(?!\s*(만에|안에|동안|뒤|후|전|이내))"
# (how a question asks, the sections that answer it), most specific first: "신청할 때 필요한 서류" asks for papers,
# "얼마 받을 수 있나요" for an amount, though both also say 신청 / 받을 수 있다.
SECTION_CUES = [(re.compile(cue), sections) for cue, sections in (
    (r"서류|준비물|준비(해야|할|하면)|챙겨|구비|제출할?\s*(것|게)", ("구비 서류", "제출 서류")),
    (r"문의|연락처|전화|담당\s*(부서|기관|과)|어디에\s*물어|상담\s*(은|는|받)", ("문의처", "담당 부서")),
    (r"근거\s*(가\s*되는\s*)?(법|조문|규정)|법적\s*근거|어떤\s*법|무슨\s*법|어느\s*법|근거는|근거가", ("법적 근거",)),
    (HOW_MUCH + r"|금액|액수|몇\s*(달|개월|년)\s*(동안|간|까지)|최대\s*몇\s*(달|개월)|"
     r"지급\s*기간|받는\s*기간|몇\s*만\s*원|무엇을\s*지원|어떤\s*지원|무슨\s*지원|지원\s*내용|혜택|뭘\s*받|무엇을\s*받|"
     r"지원받는\s*내용", ("지원 내용", "지원 금액")),
    (r"누가|누구|대상|자격|조건|선정\s*기준|소득\s*기준", ("지원 대상", "선정 기준")),
    (r"어디서|어디에서|어디로|어디에\s*신청|어떻게\s*신청|신청\s*(방법|절차|하려면|은|는|을|할\s*때|하나요|하면)|접수|절차",
     ("신청 방법", "신청 절차")),
    # "받을 수 있나요" asks who may receive only when nothing more specific was asked
    (r"해당(이\s*되|되|하)|받을\s*수\s*있", ("지원 대상", "선정 기준")),
)]

MONEY_CUE = re.compile(HOW_MUCH + r"|금액|액수|비용|몇\s*만\s*원|원을|돈")
SHARE_CUE = re.compile(r"비율|퍼센트|%|몇\s*분의|분의|감액|깎|할인")
SHARE = re.compile(r"분의|%|퍼센트")
# how a line states an amount of money, even one it leaves to a notice ("금액은 장관이 매년 고시")
AMOUNT = re.compile(r"금액|급여액|지급액|연금액|\d[\d,]*\s*(?:천|만|억)?\s*원")


def asked_sections(question: str) -> tuple[str, ...]:
    """The guide sections that answer the question, or () when its form asks for none in particular."""
    for cue, sections in SECTION_CUES:
        if cue.search(question):
            return sections
    return ()


def section_of(anchor: str) -> str:
    """`아동수당 > 지원 대상` -> `지원 대상`; "" for an article anchor."""
    return anchor.split(" > ")[-1].strip() if " > " in anchor else ""


def in_asked_section(anchor: str, asked: tuple[str, ...]) -> bool:
    """A chunk or line anchored in one of the asked sections (a chunk spanning several: any of them)."""
    return bool(asked) and any(part.strip() in asked for part in section_of(anchor).split(","))


def figure_fits(question: str, figure: str) -> bool:
    """A share ("100분의 70") answers "얼마 받나요" only when the question speaks of shares or reductions: asked
    for an amount of money, the share of people a threshold aims at is not the answer."""
    if SHARE.search(figure) and MONEY_CUE.search(question) and not SHARE_CUE.search(question):
        return False
    return True


def states_asked_amount(question: str, line: str) -> bool:
    """Asked "얼마", a line that says what the amount is (or who sets it) answers before one that only reduces it."""
    return bool(MONEY_CUE.search(question) and not SHARE_CUE.search(question) and AMOUNT.search(line))
