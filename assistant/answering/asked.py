"""What a question asks for, read from how it asks: a welfare guide's section (who may receive, how much, where to
apply, which papers, whom to call, under which law) and whether a figure it wants is money or a share.

Guides answer each of these in a section of its own (`지원 대상`, `지원 내용`, `신청 방법`, `구비 서류`, `문의처`,
`법적 근거`, the field names `ingest.structure.WELFARE_FIELDS` knows); the quote and the figure lead must come from
the section asked about, not from the one that merely shares the service's name. The cues are the everyday forms
of asking (누가, 얼마, 어디서, 무슨 서류, 전화, 근거 법), not the words of any document."""
from __future__ import annotations

import functools
import re

from ..index.keyword import HOW_MUCH

# how long or how often a benefit is given ("얼마 동안 받나요", "얼마나 자주 나오나요"), which its 지원 내용 states;
# "얼마나 오래 걸리나요" asks how long a procedure takes
HOW_LONG_OR_OFTEN = r"얼마\s*(?:동안|간)|얼마나\s*(?:자주|동안|오래(?!\s*걸))"
# how long a procedure takes ("결정까지 얼마나 걸리나요"): the application section states it
HOW_LONG_IT_TAKES = r"얼마나\s*(?:오래\s*)?(?:걸리|걸려|걸릴)"
# "법" as a word of law ("어떤 법", "무슨 법률", "근거 법령"), not the start of 법인, 법원, 법무사, 법정, 법칙 …
LAW = r"법(?!인|원|무|정|당|석|칙|학)"
# money stated as a sum: "원" after a number or 십/백/천/만/억 ("20만원을", "몇 만 원"), never inside a word
# (지원을, 병원을, 위원을, 민원을) nor the start of one ("그만 원하면", "원래", "원칙")
WON = r"(?:\d|[십백천만억])\s*원(?!하|래|칙|본|장|서|고|리|문|만하)"
PAPERS_SECTIONS = ("구비 서류", "제출 서류")
APPLYING_SECTIONS = ("신청 방법", "신청 절차")
CONTENT_SECTIONS = ("지원 내용", "지원 금액")
# (how a question asks, the sections that answer it), most specific first: "신청할 때 필요한 서류" asks for papers,
# "얼마 받을 수 있나요" for an amount, though both also say 신청 / 받을 수 있다.
SECTION_CUES = [(re.compile(cue), sections) for cue, sections in (
    (r"서류|준비물|준비(해야|할|하면)|챙겨|구비|제출할?\s*(것|게)", PAPERS_SECTIONS),
    (r"문의|연락처|전화|담당\s*(부서|기관|과)|어디에\s*물어|상담\s*(은|는|받)", ("문의처", "담당 부서")),
    (rf"근거\s*(가\s*되는\s*)?({LAW}|조문|규정)|법적\s*근거|(어떤|무슨|어느)\s*{LAW}|근거는|근거가", ("법적 근거",)),
    (HOW_MUCH + "|" + HOW_LONG_OR_OFTEN + r"|금액|액수|몇\s*(달|개월|년)\s*(동안|간|까지)|최대\s*몇\s*(달|개월)|"
     r"지급\s*기간|받는\s*기간|몇\s*만\s*원|무엇을\s*지원|어떤\s*지원|무슨\s*지원|지원\s*내용|혜택|뭘\s*받|무엇을\s*받|"
     r"지원받는\s*내용|어디까지\s*(?:[가-힣]+\s+)?(?:지원|받|보장|인정|포함|해\s*주)", CONTENT_SECTIONS),
    (r"누가|누구|대상|자격|조건|선정\s*기준|소득\s*기준", ("지원 대상", "선정 기준")),
    # "…하려면 어떻게 해야" asks the steps of doing it ("제한해 달라고 요청하려면 어떻게", "불복하려면 어떻게")
    (r"어디서|어디에서|어디로|어디에\s*신청|어떻게\s*신청|신청\s*(방법|절차|하려면|은|는|을|할\s*때|하나요|하면)|접수|절차|"
     r"하려면\s*어떻게|" + HOW_LONG_IT_TAKES,
     APPLYING_SECTIONS),
    # "받을 수 있나요" asks who may receive only when nothing more specific was asked
    (r"해당(이\s*되|되|하)|받을\s*수\s*있", ("지원 대상", "선정 기준")),
)]

MONEY_CUE = re.compile(HOW_MUCH + "|" + WON + r"|금액|액수|비용|돈")
# asked how much is taken off ("얼마나 깎아 주나요", "감면", "감경"), and a line that takes it off ("100분의 50 감경",
# "전액 면제", "보수의 3분의 1을 줄인다")
REDUCTION_CUE = re.compile(r"깎|감면|감경|할인|감액|경감|공제")
REDUCES = re.compile(r"깎|감면|감경|할인|감액|경감|면제|공제|줄이|줄인|삭감|감한|감하")
SHARE_CUE = re.compile(r"비율|퍼센트|%|몇\s*분의|분의|" + REDUCTION_CUE.pattern)
SHARE = re.compile(r"분의|%|퍼센트")
SUM = re.compile(r"\d[\d,.]*\s*[십백천]?[만억]?\s*원")  # a figure that is a sum of money ("10만원", "3,000원")
# how a line states an amount of money, even one it leaves to a notice ("금액은 장관이 매년 고시")
AMOUNT = re.compile(r"금액|급여액|지급액|연금액|지원액|보상액|상한액|한도액|\d[\d,]*\s*(?:천|만|억)?\s*원")


@functools.lru_cache(maxsize=256)
def asked_sections(question: str) -> tuple[str, ...]:
    """The guide sections that answer the question, or () when its form asks for none in particular. Cached: the
    selector asks it of the same question for every line it scores."""
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


def figure_fits(question: str, figure: str, line: str = "") -> bool:
    """A share ("100분의 70") answers "얼마 받나요" only when the question speaks of shares or reductions: asked
    for an amount of money, the share of people a threshold aims at is not the answer. A sum of money ("10만원")
    answers only a question that asks for money: "얼마나 자주 나오나요" asks how often, and neither a sum nor a share
    answers it. Asked how much is taken off ("얼마나 깎아 주나요", "감면"), a sum or share answers only on a `line`
    that takes something off: "10만원 이하의 과태료를 부과한다" is the fine, not what the 금연교육 takes off it."""
    money, shares = MONEY_CUE.search(question), SHARE_CUE.search(question)
    if line and REDUCTION_CUE.search(question) and (SUM.search(figure) or SHARE.search(figure)) \
            and not REDUCES.search(line):
        return False
    if SUM.search(figure):
        return bool(money)
    if SHARE.search(figure) and not shares and (money or "얼마" in question):
        return False
    return True


def states_asked_amount(question: str, line: str) -> bool:
    """Asked "얼마", a line that says what the amount is (or who sets it) answers before one that only reduces it."""
    return bool(MONEY_CUE.search(question) and not SHARE_CUE.search(question) and AMOUNT.search(line))


# how a statute states the steps of applying: who hands in which form to whom ("… 요구서에 … 첨부하여 … 제출해야 한다"),
# and the papers that go with it
APPLYING = re.compile(r"제출(?:하여야|해야|할\s*수\s*있|한다)|신청(?:하여야|해야|할\s*수\s*있|한다)|신청서|요구서|청구서")
PAPERS = re.compile(r"서류|증명서|등본|사본|첨부")


def asks_procedure(question: str) -> bool:
    """The question asks how or where to apply, or which papers to hand in."""
    return asked_sections(question) in (APPLYING_SECTIONS, PAPERS_SECTIONS)


def asks_content(question: str) -> bool:
    """The question asks what a benefit covers or how much it gives ("무엇을 지원", "어디까지 지원받을 수")."""
    return asked_sections(question) == CONTENT_SECTIONS


def states_asked_procedure(question: str, line: str) -> bool:
    """Asked how or where to apply ("어떻게 신청하나요?"), a line that says who hands what in to whom answers before
    the lines on what the benefit covers or what the office does next; asked which papers ("무슨 서류를 내야"), a line
    that names the papers to hand in."""
    asked = asked_sections(question)
    if asked == APPLYING_SECTIONS:
        return bool(APPLYING.search(line))
    return asked == PAPERS_SECTIONS and bool(APPLYING.search(line) and PAPERS.search(line))
