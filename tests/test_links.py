"""Statute links (#30): extraction from the text, storage in the generation, answers along the chain, `article`, and
`chain_accuracy`. The family is an excerpt of 아동수당법 with its 시행령 and 시행규칙 (tests/statute_family)."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.answering.answerability import FEATURES, Features, Judge
from assistant.answering.asked import figure_fits
from assistant.answering.chain import Chain, asked_kinds
from assistant.answering.evidence import Citation, Evidence, EvidenceSelector
from assistant.answering.retrieve import Hit, Retriever
from assistant.evaluation.evaluate import chain_miss, run_eval
from assistant.index import integrity
from assistant.index.keyword import answer_patterns
from assistant.index.links import LINKS_FILE, StatuteLinks
from ingest import load_documents
from ingest.links import Link, delegates, extract_links
from tests.conftest import ROOT, cli_env

FAMILY = ROOT / "tests" / "statute_family"
LAW, DECREE, RULE = "아동수당법.md", "아동수당법_시행령.md", "아동수당법_시행규칙.md"


def links_of(folder: Path) -> set[tuple[str, str, str, str, str]]:
    batch = load_documents([folder], 700, 2**20)
    return {(Path(x.source).name, x.anchor, x.relation, Path(x.target).name, x.target_anchor)
            for x in extract_links([c for d in batch.documents for c in d.chunks])}


def test_links_read_from_the_text_in_both_directions():
    links = links_of(FAMILY)
    # "「아동수당법」(이하 "법"이라 한다) 제4조제5항에서 "대통령령으로 정하는 금액"이란": up, and down from the law's 항
    assert (DECREE, "제2조 제1항", "implements", LAW, "제4조 제5항") in links
    assert (LAW, "제4조 제5항", "delegates_to", DECREE, "제2조 제1항") in links
    # "영 제4조제1항제2호 및 제3호": 영 is the family's 시행령, read from titles ("(이하 "영"이라 한다)" too)
    assert (RULE, "제5조 제4항", "implements", DECREE, "제4조 제1항") in links
    # a 시행규칙 that fills in the law directly ("법 제6조제1항에서 … 대리인"이란")
    assert (RULE, "제4조", "implements", LAW, "제6조 제1항") in links
    # 「민법」 제777조 is not indexed: it stays text; and no article links to itself
    assert not any(target == "민법" or source == target for source, _, _, target, _ in links)


def test_law_and_decree_are_read_within_a_family_never_from_a_list(tmp_path):
    """Another family's 시행령 saying "법 제4조" means its own law, which is not indexed: no link to 아동수당법."""
    shutil.copy(FAMILY / LAW, tmp_path / LAW)
    text = (FAMILY / DECREE).read_text(encoding="utf-8").replace("# 아동수당법 시행령", "# 영유아보육법 시행령")
    text = text.replace("「아동수당법」(이하 \"법\"이라 한다) 제4조제5항", "법 제4조제5항")
    (tmp_path / "영유아보육법_시행령.md").write_text(text, encoding="utf-8")
    links = links_of(tmp_path)
    assert not any(source == "영유아보육법_시행령.md" and target == LAW and relation == "implements"
                   for source, _, relation, target, _ in links)


@pytest.fixture(scope="module")
def family(tmp_path_factory, assistant) -> Assistant:
    """The family and the bundled ordinances in one index, with the session's loaded models."""
    docs = tmp_path_factory.mktemp("family_docs")
    shutil.copytree(FAMILY, docs / "statutes")
    shutil.copytree(ROOT / "corpora" / "ordinances", docs / "ordinances")
    bot = assistant.clone(index_dir=tmp_path_factory.mktemp("family_index"), corpus_dir=docs)
    bot.ingest([docs])
    return bot


def test_answer_quotes_the_decree_that_states_the_figure_and_cites_the_law(family):
    answer = family.ask("돌이 안 지난 아기는 아동수당을 한 달에 얼마 더 받을 수 있나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert not answer.refused
    assert any(src == DECREE and anchor.startswith("제2조 제1항") for src, anchor in cited), cited
    assert any(src == LAW and anchor == "제4조 제5항" for src, anchor in cited), cited
    assert "매월 100만원" in answer.answer and "→ 「아동수당법 시행령」 제2조 제1항" in answer.answer
    law = next(c for c in answer.citations if c.anchor == "제4조 제5항")
    assert any(x.relation == "delegates_to" and x.anchor.startswith("제2조") for x in law.links)
    # the quote of every citation is in a chunk the answer carries (what citation precision checks)
    texts = {(h.chunk.source, h.chunk.text) for h in answer.hits}
    assert all(any(s == c.source and c.quote in t for s, t in texts) for c in answer.citations)


def test_the_judge_reads_a_law_and_its_decrees_as_one_family_and_their_links(family):
    """Retrieval that settles on one legal order settles on an answer the corpus holds: the judge counts the statute
    families the hits come from (「아동수당법」 with its 시행령 is one, an ordinance another) and whether a hit below
    the top one is the article the top one delegates to (법 제4조 ⑤ → 시행령 제2조 ①), found on its own."""
    def hit(name: str, article: str) -> Hit:
        row = next(r for r, c in enumerate(family.index.chunks)
                   if Path(c.source).name == name and c.anchor.startswith(article))
        return Hit(family.index.chunks[row], 1.0, row)

    law, decree, rule = hit(LAW, "제4조"), hit(DECREE, "제2조"), hit(RULE, "제1조")
    ordinance = next(Hit(c, 1.0, r) for r, c in enumerate(family.index.chunks) if c.doc_type == "ordinance")
    read = Features(family.tokenizer, family.index.keyword, family.index.rows_by_source.get,
                    family.index.delegation_partners)
    question = "아동수당은 한 달에 얼마를 받나요?"
    features = dict(zip(FEATURES, read(question, [law, decree, rule, ordinance], [law.chunk.text])))
    assert features["families"] == pytest.approx(2 / 4) and features["linked_below"] == 1.0
    features = dict(zip(FEATURES, read(question, [law, ordinance, rule], [law.chunk.text])))
    assert features["families"] == pytest.approx(2 / 3) and features["linked_below"] == 0.0


def test_of_two_delegating_lines_the_one_the_question_is_about_is_followed(family):
    """제4조 ⑤ (2세 미만) and ⑥ (비수도권) both leave an amount to the 시행령; asked about 비수도권, the chain follows ⑥
    even when ⑤ is quoted first."""
    selector = EvidenceSelector(family.tokenizer, family.index.keyword)
    rows = [r for r, c in enumerate(family.index.chunks) if Path(c.source).name == LAW and c.anchor.startswith("제4조")]
    lines = {a: (row, q) for row in rows for a, q in EvidenceSelector.quotable_lines(Hit(family.index.chunks[row], 1.0, row))}
    evidence = []
    for anchor in ("제4조 제5항", "제4조 제6항"):
        row, quote = lines[anchor]
        c = family.index.chunks[row]
        evidence.append(Evidence(Citation(c.source, c.title, anchor, c.page, quote), 1.0, 0, len(evidence)))
    out, hits = Chain(family.index, selector).extend("비수도권에 사는 아이는 아동수당을 한 달에 얼마 더 받나요?", evidence)
    assert [(Path(e.citation.source).name, e.citation.anchor, e.link) for e in out] == [
        (LAW, "제4조 제5항", ""), (LAW, "제4조 제6항", ""), (DECREE, "제2조 제2항", "delegates_to")]
    assert [Path(h.chunk.source).name for h in hits] == [DECREE]


def test_a_delegation_to_a_ministry_ordinance_is_followed_to_the_rule(family):
    answer = family.ask("아동수당을 부모 대신 신청할 수 있는 대리인은 누구인가요?")
    assert any(Path(c.source).name == RULE and c.anchor.startswith("제4조") for c in answer.citations), answer.answer
    assert "친족" in answer.answer
    kiosk = family.ask("아동수당을 부모 대신 신청할 수 있는 대리인은 누구인가요?", mode="kiosk")
    assert "자세한 기준: 「아동수당법 시행규칙」 제4조" in kiosk.answer


def test_an_implementing_lead_names_the_law_it_rests_on(family):
    answer = family.ask("아동수당법 시행령 제2조 인구감소지역에 사는 아이는 얼마를 더 받나요?")
    lead = answer.citations[0]
    assert Path(lead.source).name == DECREE and lead.anchor.startswith("제2조 제2항"), answer.answer
    assert "근거 법령: 「아동수당법」 제4조 제6항" in answer.answer
    assert any(x.relation == "implements" and Path(x.source).name == LAW and x.anchor == "제4조 제6항"
               for x in lead.links)
    kiosk = family.ask("아동수당법 시행령 제2조 인구감소지역에 사는 아이는 얼마를 더 받나요?", mode="kiosk")
    assert "근거 법령" not in kiosk.answer  # a citizen is given the rule, not the law it rests on


def test_a_follow_up_after_a_decree_answer_carries_the_family_not_the_decree(family):
    """The subject carried is the law with its 시행령 and 시행규칙: the next question may be answered by any of them."""
    conversation = family.conversation()
    first = family.ask("아동수당법 시행령 제2조 인구감소지역에 사는 아이는 얼마를 더 받나요?", conversation=conversation)
    assert Path(first.citations[0].source).name == DECREE
    assert conversation.last.name == "아동수당법"
    follow = family.ask("부모 대신 신청할 수 있는 대리인은 누구인가요?", conversation=conversation)
    assert follow.answer.startswith("아동수당법에 대해 이어서 답합니다."), follow.answer
    assert follow.citations and {Path(c.source).name for c in follow.citations} <= {LAW, DECREE, RULE}


def test_a_near_tie_for_the_lead_goes_to_the_delegation_pair(family):
    """법 제4조 and the 시행령 제2조 carrying it out, second and third, near-tied with a first article linked to
    neither: the pair's first member leads (the scores stay as they were). Not when the tie is not near, nor when the
    first is the pair's own partner."""
    retriever = Retriever(family.index, family.embedder, family.tokenizer, family.settings)
    chunks = family.index.chunks
    row = lambda name, anchor: next(r for r, c in enumerate(chunks)  # noqa: E731
                                    if Path(c.source).name == name and c.anchor.startswith(anchor))
    law, decree = row(LAW, "제4조"), row(DECREE, "제2조")
    partners = family.index.delegation_partners
    alone = next(r for r, c in enumerate(chunks) if c.doc_type == "ordinance" and not partners(r))
    assert decree in partners(law) and law in partners(decree)
    tie = family.settings.link_tie
    near = [(alone, 0.130), (law, 0.130 - tie / 2), (decree, 0.125)]
    assert retriever.delegation_pair_first(near) == [near[1], near[0], near[2]]
    far = [(alone, 0.130), (law, 0.130 - 2 * tie), (decree, 0.125)]
    assert retriever.delegation_pair_first(far) == far
    partnered = [(decree, 0.130), (law, 0.130 - tie / 2), (alone, 0.125)]
    assert retriever.delegation_pair_first(partnered) == partnered


PROTECTION_LAW = """# 가정폭력방지 및 피해자보호 등에 관한 법률

##### 제1조 (목적)

이 법은 가정폭력을 예방하고 가정폭력의 피해자를 보호ㆍ지원함을 목적으로 한다.

##### 제7조의5 (보호시설에 대한 보호비용 지원)

**①** 국가나 지방자치단체는 보호시설에 입소한 피해자나 피해자가 동반한 가정 구성원의 보호를 위하여 필요한 경우 다음 각 호의 보호비용을 보호시설의 장 또는 피해자에게 지원할 수 있다.

  1. 생계비
  2. 아동교육지원비
  3. 아동양육비
  4. 직업훈련비
  4의2\\. 퇴소 시 자립지원금
  5. 그 밖에 대통령령으로 정하는 비용

**②** 제1항에 따른 보호비용 지원의 기준, 방법 및 절차 등에 필요한 사항은 성평등가족부령으로 정한다.
"""
PROTECTION_DECREE = """# 가정폭력방지 및 피해자보호 등에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「가정폭력방지 및 피해자보호 등에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제3조 (보호시설에 대한 보호비용 지원)

법 제7조의5제1항제5호에서 "대통령령으로 정하는 비용"이란 의료비를 말한다.
"""


PENSION_LAW = """# 기초연금법

##### 제1조 (목적)

이 법은 노인에게 기초연금을 지급하여 안정적인 소득기반을 제공함으로써 노인의 생활안정을 지원하고 복지를 증진함을 목적으로 한다.

##### 제16조 (기초연금 지급의 정지)

**①** 특별자치시장ㆍ특별자치도지사ㆍ시장ㆍ군수ㆍ구청장은 기초연금 수급자가 다음 각 호의 어느 하나에 해당하는 경우에는 그 사유가 발생한 날이 속하는 달의 다음 달부터 그 사유가 소멸한 날이 속하는 달까지 기초연금의 지급을 정지한다.

  1. 기초연금 수급자가 금고 이상의 형을 선고받고 교정시설 또는 치료감호시설에 수용되어 있는 경우
  2. 기초연금 수급자의 행방불명이나 실종 등 대통령령으로 정하는 사유로 기초연금 수급자의 소재가 1개월 이상 계속하여 확인되지 아니한 경우

##### 제18조 (신고)

**①** 기초연금 수급자는 다음 각 호의 어느 하나에 해당하는 경우 대통령령으로 정하는 바에 따라 30일 이내에 그 사실을 특별자치시장ㆍ특별자치도지사ㆍ시장ㆍ군수ㆍ구청장에게 신고하여야 한다.

  1. 제16조제1항 각 호에 따른 지급 정지의 사유가 소멸한 경우
  2. 제17조에 따른 기초연금 수급권 상실의 사유가 있는 경우
  3. 대통령령으로 정하는 기준에 해당하는 기초연금 수급자 또는 그 배우자의 소득ㆍ재산의 변동이 발생한 경우
  4. 기초연금 수급자가 결혼 또는 이혼을 하거나 그 배우자가 사망한 경우
"""
PENSION_DECREE = """# 기초연금법 시행령

##### 제1조 (목적)

이 영은 「기초연금법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제20조 (소득ㆍ재산의 변동신고)

법 제18조제1항제3호에 따라 기초연금 수급자가 신고하여야 하는 기초연금 수급자 또는 그 배우자의 소득ㆍ재산의 변동은 다음 각 호와 같다.

  1. 취업, 퇴직, 휴직, 실직, 복직 등 근로상태의 변경에 따라 근로소득이 새로 발생, 증가, 감소 또는 소멸된 경우
  2. 사업자등록, 휴업ㆍ폐업 등 사업상태의 변경에 따라 사업소득이 새로 발생, 증가, 감소 또는 소멸된 경우
  3. 법 제16조제1항에 따른 지급 정지 기간 중 소득ㆍ재산이 변동된 경우
"""


DOMESTIC_LAW = """# 가사근로자의 고용개선 등에 관한 법률

##### 제1조 (목적)

이 법은 가사서비스 시장의 공식화를 촉진하고 가사근로자의 고용안정과 근로조건 향상을 도모함을 목적으로 한다.

##### 제14조 (근로조건의 명시)

**①** 가사서비스 제공기관의 사용자는 가사근로자와 근로계약을 체결할 때에 다음 각 호의 사항을 명시하여야 한다. 근로계약 체결 후 다음 각 호의 사항을 변경하는 경우에도 또한 같다.

  1. 임금(구성항목, 계산방법, 지급방법을 포함한다)
  2. 제15조에 따른 최소근로시간
  3. 제16조에 따른 유급휴일 및 연차 유급휴가
  4. 가사근로자가 제공하는 가사서비스의 종류와 내용
  5. 그 밖에 대통령령으로 정하는 근로조건에 관한 사항
"""
DOMESTIC_DECREE = """# 가사근로자의 고용개선 등에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「가사근로자의 고용개선 등에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제4조 (근로계약 체결 시 명시해야 할 근로조건)

법 제14조제1항제5호에서 "대통령령으로 정하는 근로조건에 관한 사항"이란 다음 각 호의 사항을 말한다.

  1. 가사서비스 제공 가능 요일 또는 날짜
  2. 가사서비스 제공 가능 시간대
  3. 가사서비스 제공 가능 지역
"""


YOUTH_LAW = """# 청소년복지 지원법

##### 제1조 (목적)

이 법은 「청소년기본법」 제49조제4항에 따라 청소년복지 향상에 관한 사항을 규정함을 목적으로 한다.

##### 제15조 (특별지원의 신청 및 선정)

**①** 다음 각 호의 어느 하나에 해당하는 사람은 위기청소년을 특별지원 대상 청소년으로 선정하여 줄 것을 시장ㆍ군수ㆍ구청장에게 신청할 수 있다.

  1. 청소년 본인 또는 그 보호자
  2. 「초ㆍ중등교육법」 제19조제1항에 따른 교원

**②** 시장ㆍ군수ㆍ구청장은 제1항에 따른 신청을 받은 경우에는 심의위원회의 심의를 거쳐 선정 여부와 지원 내용 및 기간을 결정하여야 한다.
"""
YOUTH_DECREE = """# 청소년복지 지원법 시행령

##### 제1조 (목적)

이 영은 「청소년복지 지원법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제9조 (특별지원대상청소년 선정 등)

**①** 시장ㆍ군수ㆍ구청장은 법 제15조제1항에 따른 선정신청을 받은 경우에는 심의위원회의 심의를 거쳐 신청일부터 30일 이내에 그 선정 여부와 지원 내용 등을 결정해야 한다.

**②** 시장ㆍ군수ㆍ구청장은 제1항에 따라 보호자의 유무와 생활실태를 조사하여야 한다.
"""

FINE_LAW = """# 벌금 미납자의 사회봉사 집행에 관한 특례법

##### 제1조 (목적)

이 법은 벌금 미납자에 대한 노역장 유치를 사회봉사로 대신하여 집행할 수 있는 특례와 절차를 규정함을 목적으로 한다.

##### 제4조 (사회봉사의 신청)

**①** 대통령령으로 정한 금액 범위 내의 벌금형이 확정된 벌금 미납자는 검사의 납부명령일부터 30일 이내에 주거지를 관할하는 지방검찰청의 검사에게 사회봉사를 신청할 수 있다.

**②** 징역 또는 금고와 동시에 벌금을 선고받은 사람은 사회봉사를 신청할 수 없다.

**③** 제1항의 사회봉사를 신청할 때에 필요한 서류 및 제출방법에 관한 사항은 대통령령으로 정하되, 신청서식 및 서식에 적을 내용 등은 법무부령으로 정한다.

##### 제10조 (사회봉사의 집행)

**②** 사회봉사는 1일 9시간을 넘겨 집행할 수 없다. 다만, 사회봉사의 내용상 연속집행의 필요성이 있어 보호관찰관이 승낙하고 사회봉사 대상자가 분명히 동의한 경우에만 연장하여 집행할 수 있다.

##### 제12조 (사회봉사 대상자의 벌금 납입)

**①** 사회봉사 대상자는 사회봉사의 이행을 마치기 전에 벌금의 전부 또는 일부를 낼 수 있다.

**③** 제2항의 사회봉사집행확인서를 제출받은 검사는 미납한 벌금에서 이미 집행한 사회봉사시간에 상응하는 금액을 공제하는 방법으로 남은 벌금을 산정하여 사회봉사 대상자에게 고지한다.

**⑤** 사회봉사 대상자가 미납벌금의 일부를 낸 경우 검사는 법원이 결정한 사회봉사시간에서 이미 납입한 벌금에 상응하는 사회봉사시간을 공제하는 방법으로 남은 사회봉사시간을 다시 산정하여 통보하여야 한다.
"""
FINE_DECREE = """# 벌금 미납자의 사회봉사 집행에 관한 특례법 시행령

##### 제1조 (목적)

이 영은 「벌금 미납자의 사회봉사 집행에 관한 특례법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제2조 (사회봉사의 신청과 벌금액)

「벌금 미납자의 사회봉사 집행에 관한 특례법」(이하 "법"이라 한다) 제4조제1항 본문에 따른 벌금형의 금액은 500만원으로 한다.

##### 제3조 (사회봉사 신청에 필요한 서류 및 제출방법)

법 제4조제1항에 따라 사회봉사를 신청하는 사람은 다음 각 호의 서류를 첨부하여 주거지를 관할하는 지방검찰청의 검사에게 신청서를 제출하여야 한다.

  1. 판결문 또는 약식명령서 사본
  2. 소득금액 증명서
  3. 재산세 납부증명서

##### 제8조 (집행시간)

**①** 사회봉사는 평일 주간에 집행하는 것을 원칙으로 한다.

**②** 법 제10조제2항 단서에 따라 1일 9시간을 넘겨 사회봉사를 집행하는 경우에도 1일 총 13시간을 초과할 수 없다.

##### 제11조 (미납 벌금액과 남은 사회봉사시간의 산정)

검사가 법 제12조제3항에 따라 사회봉사시간에 상응하는 벌금액을 산정하는 경우 및 같은 조 제5항에 따라 납부한 벌금액에 상응하는 사회봉사시간을 산정하는 경우에는 법원이 해당 사회봉사를 허가할 때에 적용한 벌금액과 사회봉사시간의 비율에 따른다.

##### 제13조 (고유식별정보의 처리)

검사는 다음 각 호의 사무를 수행하기 위하여 불가피한 경우 주민등록번호가 포함된 자료를 처리할 수 있다.

  1. 법 제4조에 따른 사회봉사의 신청에 관한 사무
  2. 법 제5조에 따른 사회봉사의 청구에 관한 사무
  3. 법 제12조에 따른 벌금 납입에 관한 사무
  4. 법 제14조에 따른 사회봉사 허가의 취소에 관한 사무
"""

PETITION_LAW = """# 청원법

##### 제1조 (목적)

이 법은 국민이 불편 없이 청원권을 행사할 수 있도록 청원 절차를 규정함을 목적으로 한다.

##### 제22조 (이의신청)

**①** 청원인은 공개 부적합 결정 통지를 받은 날 또는 제21조에 따른 처리기간이 경과한 날부터 30일 이내에 청원기관의 장에게 문서로 이의신청을 할 수 있다.

**②** 청원기관의 장은 이의신청을 받은 날부터 15일 이내에 이의신청에 대하여 인용 여부를 결정하고, 그 결과를 청원인에게 지체 없이 알려야 한다.

**③** 제1항에 따른 이의신청의 절차 및 방법 등 필요한 사항은 대통령령으로 정한다.
"""
PETITION_DECREE = """# 청원법 시행령

##### 제1조 (목적)

이 영은 「청원법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제17조 (이의신청의 절차 및 방법)

**①** 법 제22조제1항에 따라 이의신청을 하려는 청원인은 이의신청서에 이의신청의 취지와 이유를 분명히 밝히고 필요한 자료를 첨부하여 청원기관의 장에게 제출해야 한다.

**②** 제1항에 따른 이의신청서는 청원기관에 직접 제출하거나 우편, 팩스 또는 온라인청원시스템을 통해 제출할 수 있다.

##### 제18조 (이의신청 결과의 통지)

청원기관의 장은 이의신청에 대한 인용 여부를 결정했을 때에는 법 제22조제2항에 따라 그 결과와 이유를 문서(전자문서를 포함한다)로 청원인에게 통지해야 한다.
"""

ARTS_LAW = """# 장애예술인 문화예술 활동 지원에 관한 법률

##### 제1조 (목적)

이 법은 장애예술인의 문화예술 활동을 지원함을 목적으로 한다.

##### 제12조 (장애예술인의 문화시설 접근성 제고)

**①** 국가와 지방자치단체는 장애예술인이 문화예술 활동에 어려움이 없도록 공연장 등 문화시설의 개선을 위하여 노력하여야 한다.

**②** 국가와 지방자치단체는 대통령령으로 정하는 바에 따라 장애예술인의 문화시설 접근성 개선에 필요한 비용의 전부 또는 일부를 문화시설 사업자 등에게 지원할 수 있다.
"""
ARTS_DECREE = """# 장애예술인 문화예술 활동 지원에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「장애예술인 문화예술 활동 지원에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제6조 (문화시설 접근성 개선에 필요한 비용의 지원)

**①** 법 제12조제2항에 따른 장애예술인의 문화시설 접근성 개선에 필요한 비용은 장애예술인이 문화예술 활동을 안전하고 원활하게 할 수 있도록 문화시설을 개선하는 데 드는 비용으로 한다.

**②** 법 제12조제2항에 따라 지원을 받으려는 자는 문화체육관광부장관이나 지방자치단체의 장에게 문화체육관광부령으로 정하는 지원신청서를 제출해야 한다.
"""

ASSEMBLY_LAW = """# 집회 및 시위에 관한 법률

##### 제1조 (목적)

이 법은 적법한 집회 및 시위를 최대한 보장하고 위법한 시위로부터 국민을 보호함을 목적으로 한다.

##### 제6조 (옥외집회 및 시위의 신고 등)

**①** 옥외집회나 시위를 주최하려는 자는 그에 관한 다음 각 호의 사항 모두를 적은 신고서를 옥외집회나 시위를 시작하기 720시간 전부터 48시간 전에 관할 경찰서장에게 제출하여야 한다.

  1. 목적
  2. 일시(필요한 시간을 포함한다)
  3. 장소
  4. 참가 예정인 단체와 인원
  5. 시위의 경우 그 방법(진로와 약도를 포함한다)

**②** 주최자는 제1항에 따라 신고한 옥외집회 또는 시위를 하지 아니하게 된 경우에는 신고서에 적힌 집회 일시 24시간 전에 그 철회사유 등을 적은 철회신고서를 관할경찰관서장에게 제출하여야 한다.

##### 제8조 (집회 및 시위의 금지 또는 제한 통고)

**⑤** 신고장소가 다른 사람의 주거지역이나 이와 유사한 장소로서 집회나 시위로 사생활의 평온을 뚜렷하게 해칠 우려가 있는 경우로서 그 거주자나 관리자가 시설이나 장소의 보호를 요청하는 경우에는 집회나 시위의 금지 또는 제한을 통고할 수 있다.

##### 제14조 (확성기등 사용의 제한)

**①** 집회 또는 시위의 주최자는 확성기, 북, 징, 꽹과리 등의 기계ㆍ기구를 사용하여 타인에게 심각한 피해를 주는 소음으로서 대통령령으로 정하는 기준을 위반하는 소음을 발생시켜서는 아니 된다.

**②** 관할경찰관서장은 집회 또는 시위의 주최자가 제1항에 따른 기준을 초과하는 소음을 발생시켜 타인에게 피해를 주는 경우에는 그 기준 이하의 소음 유지 또는 확성기등의 사용 중지를 명하거나 확성기등의 일시보관 등 필요한 조치를 할 수 있다.
"""
ASSEMBLY_DECREE = """# 집회 및 시위에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「집회 및 시위에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제2조 (시위방법)

「집회 및 시위에 관한 법률」(이하 "법"이라 한다) 제6조제1항제5호에 따른 시위방법은 다음 각 호의 사항을 말한다.

  1. 시위의 대형
  2. 차량, 확성기, 입간판, 그 밖에 주장을 표시한 시설물의 이용 여부와 그 수
  3. 구호 제창의 여부
  4. 진로(출발지, 경유지, 중간 행사지, 도착지 등)

##### 제5조 (주거지역 등에서의 집회 또는 시위의 제한ㆍ금지 요청)

법 제8조제5항에 따른 시설이나 장소의 보호 요청은 주거지역이나 이와 유사한 장소의 거주자나 관리자가 그 이유 등을 명확하게 밝혀 관할 경찰관서장이나 집회 또는 시위의 장소에 있는 경찰공무원에게 서면이나 구두로 하여야 한다. 이 경우 구두로 요청할 때에는 지체 없이 그 이유 등을 명확하게 밝힌 서면을 제출하여야 한다.

##### 제14조 (확성기등의 소음기준)

법 제14조제1항에 따른 확성기등의 소음기준은 별표 2와 같다.
"""


SINGLE_PARENT_LAW = """# 한부모가족지원법

##### 제1조 (목적)

이 법은 한부모가족이 안정적인 가족 기능을 유지하고 자립할 수 있도록 지원함으로써 한부모가족의 생활 안정과 복지 증진에 이바지함을 목적으로 한다.

##### 제17조의6 (미혼모 등의 건강관리 등 지원)

**①** 국가와 지방자치단체는 미혼모 또는 미혼부와 그 자녀가 건강하게 생활할 수 있도록 산전(産前)ㆍ분만ㆍ산후(産後)관리, 질병의 예방ㆍ상담ㆍ치료, 영양ㆍ건강에 관한 교육 등 건강관리를 위한 지원을 할 수 있다.

**②** 국가와 지방자치단체는 제19조제1항제1호의 출산지원시설에 입소한 미혼모 등의 신청이 있는 경우에는 미혼모 등 본인 및 함께 생활하는 자녀에 대한 의료비를 추가적으로 지원할 수 있다.

**③** 제1항에 따른 건강관리와 제2항에 따른 의료비 지원의 기준 및 절차, 그 밖에 필요한 사항은 대통령령 또는 조례로 정한다.
"""
SINGLE_PARENT_DECREE = """# 한부모가족지원법 시행령

##### 제1조 (목적)

이 영은 「한부모가족지원법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제17조의5 (미혼모 등의 건강관리 및 의료비 지원 기준 등)

**①** 법 제17조의6제1항에 따른 건강관리를 위한 지원의 범위는 다음 각 호와 같다.

  1. 산전(産前)ㆍ분만ㆍ산후(産後) 관리를 위한 영양ㆍ건강 교육
  2. 의료기관과의 연계를 통한 질병의 예방ㆍ상담ㆍ치료

**②** 국가와 지방자치단체는 법 제17조의6제2항에 따라 다음 각 호의 사항에 대한 의료비 중 「국민건강보험법」 또는 「의료급여법」에 따라 급여가 지급되지 않는 의료비의 전부 또는 일부를 지원할 수 있다.

  1. 산전ㆍ분만ㆍ산후 관리
  2. 미혼모와 그 자녀의 질병 예방 및 치료

**③** 제2항에 따라 의료비를 지원받으려는 미혼모 등은 관할 특별자치시장ㆍ특별자치도지사ㆍ시장ㆍ군수ㆍ구청장에게 의료비의 지원을 신청해야 한다.
"""
FUNERAL_LAW = """# 장사 등에 관한 법률

##### 제1조 (목적)

이 법은 장사(葬事)의 방법과 장사시설의 설치ㆍ조성 및 관리 등에 관한 사항을 정하여 보건위생상의 위해(危害)를 방지하고, 국토의 효율적 이용과 공공복리 증진에 이바지하는 것을 목적으로 한다.

##### 제10조 (자연장의 방법)

**①** 자연장을 하는 자는 화장한 유골을 묻거나 뿌리기에 적합하도록 분골하여야 한다.

**②** 제1항에 따라 유골을 분골하여 용기에 담아 묻는 경우 그 용기는 생화학적으로 분해가 가능한 것이어야 한다.

**③** 제1항 및 제2항에 따른 묻거나 뿌리는 방법, 사용하는 용기의 기준 등에 관하여 필요한 사항은 대통령령으로 정한다.
"""
FUNERAL_DECREE = """# 장사 등에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「장사 등에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제8조 (자연장의 방법과 용기 기준)

**②** 법 제10조제2항에 따라 자연장에 사용하는 용기의 재질은 다음 각 호의 어느 하나에 해당하는 것이어야 한다.

  1. 「자원의 절약과 재활용촉진에 관한 법률」 제2조제16호에 따른 생분해성수지제품
  2. 전분 등 천연소재로서 생화학적으로 분해가 가능한 것
"""


HEALTH_LAW = """# 국민건강증진법

##### 제1조 (목적)

이 법은 국민에게 건강에 대한 가치와 책임의식을 함양하도록 건강에 관한 바른 지식을 보급하고 스스로 건강생활을 실천할 수 있는 여건을 조성함으로써 국민의 건강을 증진함을 목적으로 한다.

##### 제9조 (금연을 위한 조치)

**②** 담배사업법에 의한 지정소매인 기타 담배를 판매하는 자는 대통령령이 정하는 장소외에서 담배자동판매기를 설치하여 담배를 판매하여서는 아니된다.

##### 제16조 (국민건강영양조사 등)

**①** 질병관리청장은 보건복지부장관과 협의하여 국민의 건강상태ㆍ식품섭취ㆍ식생활조사등 국민의 건강과 영양에 관한 조사(이하 "국민건강영양조사"라 한다)를 정기적으로 실시한다.

**④** 국민건강영양조사의 내용 및 방법, 그 밖에 국민건강영양조사와 영양에 관한 지도에 관하여 필요한 사항은 대통령령으로 정한다.

##### 제34조 (과태료)

**③** 다음 각 호의 어느 하나에 해당하는 자에게는 10만원 이하의 과태료를 부과한다.

  1. 제8조의4제2항을 위반하여 금주구역에서 음주를 한 사람
  2. 제9조제8항을 위반하여 금연구역에서 흡연을 한 사람

**⑤** 제3항에도 불구하고 과태료 납부 대상자가 대통령령으로 정하는 바에 따라 일정 교육 또는 금연지원 서비스를 받은 경우 시ㆍ도지사 또는 시장ㆍ군수ㆍ구청장은 과태료를 감면할 수 있다.
"""
HEALTH_DECREE = """# 국민건강증진법 시행령

##### 제1조 (목적)

이 영은 「국민건강증진법」에서 위임된 사항과 그 시행에 관하여 필요한 사항을 규정함을 목적으로 한다.

##### 제15조 (담배자동판매기의 설치장소)

**①** 법 제9조제2항에 따라 담배자동판매기의 설치가 허용되는 장소는 다음 각 호와 같다.

  1. 미성년자등을 보호하는 법령에서 19세 미만의 자의 출입이 금지되어 있는 장소
  2. 지정소매인 기타 담배를 판매하는 자가 운영하는 점포 및 영업장의 내부

##### 제19조 (국민건강영양조사의 주기)

법 제16조제1항에 따른 국민건강영양조사(이하 "국민건강영양조사"라 한다)는 매년 실시한다.

##### 제34조 (과태료 감면의 기준 및 절차)

**①** 법 제34조제5항에 따라 과태료를 감면받으려는 사람은 보건복지부장관이 정하는 바에 따라 다음 각 호의 어느 하나에 해당하는 교육 또는 금연지원 서비스를 받아야 한다.

  1. 법 제12조제1항ㆍ제2항에 따른 보건교육(흡연의 폐해, 금연의 필요성 등에 관한 교육으로 한정한다)
  2. 법 제25조제1항제1호에 따른 국민건강관리사업으로 실시하는 금연치료 및 금연상담 등 금연지원 서비스

**④** 법 제34조제5항에 따라 시ㆍ도지사 또는 시장ㆍ군수ㆍ구청장은 과태료의 부과를 유예받은 사람이 그 유예기간 이내에 교육 또는 금연지원 서비스를 받았음을 증명하는 자료를 제출하는 경우에는 다음 각 호의 구분에 따른 기준에 따라 과태료를 감면할 수 있다.

  1. 제1항제1호에 따른 교육을 받은 경우: 100분의 50 감경
  2. 제1항제2호에 따른 금연지원 서비스를 받은 경우: 전액 면제
"""
LEASE_LAW = """# 주택임대차보호법

##### 제1조 (목적)

이 법은 주거용 건물의 임대차(賃貸借)에 관하여 「민법」에 대한 특례를 규정함으로써 국민 주거생활의 안정을 보장함을 목적으로 한다.

##### 제21조 (조정의 신청 등)

**①** 주택임대차분쟁의 당사자는 해당 주택이 소재하는 지역을 관할하는 조정위원회에 분쟁의 조정을 신청할 수 있다.

**②** 조정위원회는 신청인이 조정을 신청할 때 조정 절차 및 조정의 효력 등 분쟁조정에 관하여 대통령령으로 정하는 사항을 안내하여야 한다.

**③** 조정위원회의 위원장은 다음 각 호의 어느 하나에 해당하는 경우 신청을 각하한다.

  1. 이미 해당 분쟁조정사항에 대하여 법원에 소가 제기된 경우
  2. 피신청인이 조정절차에 응하지 아니한다는 의사를 통지한 경우

##### 제22조 (조정절차)

**①** 조정위원회의 위원장은 신청인으로부터 조정신청을 접수한 때에는 지체 없이 조정절차를 개시하여야 한다.

**②** 조정위원회의 위원장은 제1항에 따라 조정신청을 접수하면 피신청인에게 조정신청서를 송달하여야 한다.

##### 제23조 (처리기간)

**①** 조정위원회는 분쟁의 조정신청을 받은 날부터 60일 이내에 그 분쟁조정을 마쳐야 한다.

##### 제24조 (조사 등)

**①** 조정위원회는 조정을 위하여 필요하다고 인정하는 경우 신청인, 피신청인, 분쟁 관련 이해관계인 또는 참고인에게 출석하여 진술하게 하거나 조정에 필요한 자료나 물건 등을 제출하도록 요구할 수 있다.
"""
LEASE_DECREE = """# 주택임대차보호법 시행령

##### 제1조 (목적)

이 영은 「주택임대차보호법」에서 위임된 사항과 그 시행에 관하여 필요한 사항을 정함을 목적으로 한다.

##### 제31조 (조정신청인에게 안내하여야 할 사항)

**①** 법 제21조제2항에서 "대통령령으로 정하는 사항"이란 다음 각 호의 사항을 말한다.

  1. 법 제21조제3항 각 호에 따른 조정 신청의 각하 사유
  2. 법 제22조제2항에 따른 조정절차의 개시 요건
  3. 법 제23조의 처리기간
  4. 법 제24조에 따라 필요한 경우 신청인, 피신청인, 분쟁 관련 이해관계인 또는 참고인에게 출석하여 진술하게 하거나 필요한 자료나 물건 등의 제출을 요구할 수 있다는 사실
  5. 조정성립의 요건 및 효력
  6. 당사자가 부담하는 비용
"""


def test_a_delegation_no_lower_article_names_goes_to_the_one_on_its_subject(tmp_path):
    """법 제4조 ③ leaves "신청할 때에 필요한 서류 및 제출방법" to the 시행령, whose 제3조 (titled so) names ① ("법
    제4조제1항에 따라 … 다음 각 호의 서류"): ③ is linked to 제3조, not to 제2조 (벌금액, also naming ①) nor to the list
    of tasks 제13조 (which names the whole article). "같은 조 제2항" is the 항 of the article named just before it."""
    (tmp_path / "fine.md").write_text(FINE_LAW, encoding="utf-8")
    (tmp_path / "fine_decree.md").write_text(FINE_DECREE, encoding="utf-8")
    links = links_of(tmp_path)
    down = {(target, anchor) for source, a, relation, target, anchor in links
            if source == "fine.md" and a == "제4조 제3항" and relation == "delegates_to"}
    assert ("fine_decree.md", "제3조") in down and ("fine_decree.md", "제2조") not in down, down
    assert ("fine_decree.md", "제3조", "implements", "fine.md", "제4조 제3항") in links
    assert ("fine_decree.md", "제11조", "implements", "fine.md", "제12조 제5항") in links
    assert ("fine_decree.md", "제11조", "implements", "fine.md", "제12조 제3항") in links


SEAL_LAW = """# 인감증명법

##### 제1조 (목적)

이 법은 인감증명에 관한 사항을 규정하여 인감증명 사무의 적정을 기하고 국민의 편익을 도모함을 목적으로 한다.

##### 제6조 (인장 규격의 제한)

제3조에 따라 인감으로 신고하는 도장은 대통령령으로 정하는 바에 따라 규격을 제한할 수 있다.

##### 제10조 (인감대장 등의 보존기간)

**①** 인감대장은 영구히 보존하여야 한다.

**②** 인감대장 외의 인감증명 관계 서류의 보존기간은 대통령령으로 정한다.

##### 제14조 (전문위원)

**①** 위원회에 전문위원을 둘 수 있다.

**②** 전문위원의 직급과 수 등에 관하여 필요한 사항은 대통령령으로 정한다.
"""

SEAL_DECREE = """# 인감증명법 시행령

##### 제1조 (목적)

이 영은 인감증명법 시행에 관하여 필요한 사항을 규정함을 목적으로 한다.

##### 제6조 (인장의 규격)

인감의 증명에 사용하는 인장의 크기는 가로ㆍ세로 각각 7밀리미터 이상 30밀리미터 이내이어야 한다.

##### 제17조 (인감증명관계서류의 보존기간)

법 제10조제2항의 규정에 의한 인감증명관계서류의 보존기간은 다음과 같다.

  1. 인감증명서발급대장: 30년
  2. 각종 신고서, 확인서 및 동의서: 10년

##### 제20조 (자문위원)

위원회에 자문위원을 둘 수 있다.
"""


def test_a_decree_article_that_names_no_law_article_is_linked_by_its_title(tmp_path):
    """Older decrees state a detail without naming the law article that leaves it to them: 시행령 제6조 "(인장의 규격)
    인장의 크기는 …" carries out 법 제6조 "(인장 규격의 제한) … 대통령령으로 정하는 바에 따라 규격을 제한할 수 있다".
    Linked by title only where the law article's title and sentence hold every word of the decree article's: not
    제20조 "(자문위원)" to 법 제14조 "(전문위원)", and never the article a decree line names itself."""
    (tmp_path / "seal.md").write_text(SEAL_LAW, encoding="utf-8")
    (tmp_path / "seal_decree.md").write_text(SEAL_DECREE, encoding="utf-8")
    links = links_of(tmp_path)
    assert ("seal.md", "제6조", "delegates_to", "seal_decree.md", "제6조") in links
    assert ("seal_decree.md", "제6조", "implements", "seal.md", "제6조") in links
    assert not any(x[0] == "seal.md" and x[1].startswith("제14조") for x in links), links
    assert {x for x in links if x[0] == "seal.md" and x[1] == "제10조 제2항"} \
        == {("seal.md", "제10조 제2항", "delegates_to", "seal_decree.md", "제17조")}


ASSISTANCE_LAW = """# 장애인활동 지원에 관한 법률

##### 제1조 (목적)

이 법은 신체적ㆍ정신적 장애 등의 사유로 혼자서 일상생활과 사회생활을 하기 어려운 장애인에게 제공하는 활동지원급여 등에 관한 사항을 규정하여 장애인의 자립생활을 지원하고 그 가족의 부담을 줄임으로써 장애인의 삶의 질을 높이는 것을 목적으로 한다.

##### 제27조 (활동지원사)

**①** 활동지원인력(이하 "활동지원사"라 한다)이 되려는 사람은 활동지원사교육기관에서 교육과정을 수료하거나, 대통령령으로 정하는 일정 자격을 갖추어야 한다.

**②** 제1항에 따른 활동지원사의 교육과정, 교육내용과 그 밖에 필요한 사항은 보건복지부령으로 정한다.
"""
ASSISTANCE_DECREE = """# 장애인활동 지원에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「장애인활동 지원에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제20조 (활동지원사의 자격)

법 제27조제1항에서 "대통령령으로 정하는 일정 자격"이란 다음 각 호의 어느 하나의 자격을 말한다.

  1. 「노인복지법」 제39조의2에 따른 요양보호사
  2. 「사회복지사업법」 제11조에 따른 사회복지사
"""


def test_a_delegation_to_a_ministry_ordinance_is_not_carried_out_by_a_decree(tmp_path):
    """법 제27조 ② leaves the 교육과정 to the 보건복지부령 (a 시행규칙, not indexed here); 시행령 제20조, titled
    "활동지원사의 자격" and naming ①, shares its subject but is not where the 부령 states it: ② gets no link to it."""
    (tmp_path / "assistance.md").write_text(ASSISTANCE_LAW, encoding="utf-8")
    (tmp_path / "assistance_decree.md").write_text(ASSISTANCE_DECREE, encoding="utf-8")
    links = links_of(tmp_path)
    assert ("assistance.md", "제27조 제1항", "delegates_to", "assistance_decree.md", "제20조") in links
    assert not {x for x in links if x[:2] == ("assistance.md", "제27조 제2항") and x[3] == "assistance_decree.md"}, links


ELDER_LAW = """# 고용상 연령차별금지 및 고령자고용촉진에 관한 법률

##### 제1조 (목적)

이 법은 합리적인 이유 없이 연령을 이유로 하는 고용차별을 금지하고, 고령자가 그 능력에 맞는 직업을 가질 수 있도록 지원하고 촉진함으로써, 고령자의 고용안정과 국민경제의 발전에 이바지하는 것을 목적으로 한다.

##### 제21조의3 (퇴직예정자 등에 대한 재취업지원서비스 지원)

**①** 사업주는 정년퇴직 등의 사유로 이직예정인 근로자에게 경력ㆍ적성 등의 진단 및 향후 진로설계, 취업알선, 재취업 또는 창업에 관한 교육 등 재취업에 필요한 서비스(이하 "재취업지원서비스"라 한다)를 제공하도록 노력하여야 한다.

**②** 제1항에도 불구하고 대통령령으로 정하는 수 이상의 근로자를 사용하는 사업주는 정년 등 대통령령으로 정하는 비자발적인 사유로 이직예정인 준고령자 및 고령자에게 재취업지원서비스를 제공하여야 한다.

**③** 제1항 및 제2항에 따른 재취업지원서비스의 대상, 내용 및 방법 등에 필요한 사항은 대통령령으로 정한다.
"""

ELDER_DECREE = """# 고용상 연령차별금지 및 고령자고용촉진에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「고용상 연령차별금지 및 고령자고용촉진에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제14조의2 (재취업지원서비스의 제공의무 사업주)

법 제21조의3제2항에서 "대통령령으로 정하는 수 이상의 근로자를 사용하는 사업주"란 직전 연도의 매월 말일을 기준으로 각각 산정된 「고용보험법」 제2조제1호가목에 따른 피보험자 수의 평균이 1천명 이상인 사업주를 말한다.

##### 제14조의3 (재취업지원서비스의 제공 대상)

**①** 사업주는 법 제21조의3제2항에 따라 다음 각 호의 요건을 모두 갖춘 이직예정인 준고령자 및 고령자에게 같은 조 제1항에 따른 재취업지원서비스를 제공해야 한다.

  1. 이직예정일이 50세 이상이 되는 연도에 있을 것
  2. 「고용보험법」 제50조제3항에 따른 피보험기간이 이직예정일 전날까지 계속하여 1년 이상일 것
"""


SALE_LAW = """# 건축물의 분양에 관한 법률

##### 제1조 (목적)

이 법은 건축물의 분양 절차 및 방법 등에 관하여 필요한 사항을 정하여 건축물 분양과 관련된 투명성을 제고하고 분양받는 자를 보호하여 국민경제에 이바지함을 목적으로 한다.

##### 제6조의3 (분양 건축물의 전매행위 제한)

**①** 「주택법」 제63조제1항에 따라 지정된 투기과열지구 또는 같은 법 제63조의2제1항제1호에 따라 지정된 조정대상지역에서 대통령령으로 정하는 용도 및 규모의 건축물을 분양받은 자 또는 소유자는 분양계약을 체결한 날부터 대통령령으로 정하는 기간 동안 해당 건축물을 전매하거나 이의 전매를 알선할 수 없다.

**②** 제1항에 해당하지 아니하는 건축물로서 분양사업자와 분양받은 자가 분양계약 체결을 한 건축물의 경우에는 사용승인 전에 2명 이상에게 전매하거나 이의 전매를 알선할 수 없다.
"""

SALE_DECREE = """# 건축물의 분양에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「건축물의 분양에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제9조의3 (전매행위의 제한기간 등)

**①** 법 제6조의3제1항 전단에서 "대통령령으로 정하는 용도 및 규모의 건축물"이란 오피스텔로서 100실 이상인 건축물을 말한다.

**②** 법 제6조의3제1항 전단에서 "대통령령으로 정하는 기간"이란 사용승인일부터 소유권이전등기일까지의 기간을 말한다.
"""


@pytest.fixture(scope="module")
def excerpts(tmp_path_factory, assistant) -> Assistant:
    """Fourteen more families (excerpts of 가정폭력방지법, 기초연금법, 가사근로자법, 청소년복지 지원법, 벌금 미납자의
    사회봉사 집행에 관한 특례법, 청원법, 장애예술인 문화예술 활동 지원법, 집회 및 시위에 관한 법률, 한부모가족지원법, 장사
    등에 관한 법률, 국민건강증진법, 주택임대차보호법, 고령자고용법 and 건축물분양법, each with its 시행령) in one index."""
    docs = tmp_path_factory.mktemp("excerpt_docs")
    for name, text in (("가정폭력방지법.md", PROTECTION_LAW), ("가정폭력방지법_시행령.md", PROTECTION_DECREE),
                       ("기초연금법.md", PENSION_LAW), ("기초연금법_시행령.md", PENSION_DECREE),
                       ("가사근로자법.md", DOMESTIC_LAW), ("가사근로자법_시행령.md", DOMESTIC_DECREE),
                       ("청소년복지법.md", YOUTH_LAW), ("청소년복지법_시행령.md", YOUTH_DECREE),
                       ("벌금미납자법.md", FINE_LAW), ("벌금미납자법_시행령.md", FINE_DECREE),
                       ("청원법.md", PETITION_LAW), ("청원법_시행령.md", PETITION_DECREE),
                       ("장애예술인법.md", ARTS_LAW), ("장애예술인법_시행령.md", ARTS_DECREE),
                       ("집시법.md", ASSEMBLY_LAW), ("집시법_시행령.md", ASSEMBLY_DECREE),
                       ("한부모법.md", SINGLE_PARENT_LAW), ("한부모법_시행령.md", SINGLE_PARENT_DECREE),
                       ("장사법.md", FUNERAL_LAW), ("장사법_시행령.md", FUNERAL_DECREE),
                       ("건강증진법.md", HEALTH_LAW), ("건강증진법_시행령.md", HEALTH_DECREE),
                       ("주택임대차법.md", LEASE_LAW), ("주택임대차법_시행령.md", LEASE_DECREE),
                       ("고령자고용법.md", ELDER_LAW), ("고령자고용법_시행령.md", ELDER_DECREE),
                       ("건축물분양법.md", SALE_LAW), ("건축물분양법_시행령.md", SALE_DECREE)):
        (docs / name).write_text(text, encoding="utf-8")
    bot = assistant.clone(index_dir=tmp_path_factory.mktemp("excerpt_index"), corpus_dir=docs)
    bot.ingest([docs])
    return bot


def test_a_delegating_item_under_a_quoted_list_is_followed(excerpts):
    """"다음 각 호의 보호비용" is quoted; its 호 "5. 그 밖에 대통령령으로 정하는 비용" leaves the cost asked about to
    the 시행령, which names it: the answer follows that 호 (escaped "4의2\\." read as 제4호의2)."""
    answer = excerpts.ask("가정폭력 보호시설에 입소한 피해자에게 지원하는 보호비용에 의료비도 들어가나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert cited[0] == ("가정폭력방지법.md", "제7조의5 제1항"), cited
    assert ("가정폭력방지법.md", "제7조의5 제1항 제5호") in cited
    assert ("가정폭력방지법_시행령.md", "제3조") in cited and "의료비를 말한다" in answer.answer
    assert "\\" not in answer.answer


def test_no_delegation_is_followed_when_the_asked_figure_is_quoted(excerpts):
    """"결혼하면 며칠 안에 신고?": 제18조 ① states 30일; the 시행령 its 제3호 leads to (소득ㆍ재산의 변동) is not asked."""
    answer = excerpts.ask("기초연금 받는 사람이 결혼하면 며칠 안에 신고해야 하나요?")
    assert "30일 이내" in answer.answer
    assert all(Path(c.source).name == "기초연금법.md" for c in answer.citations), answer.answer
    changed = excerpts.ask("기초연금 수급자는 소득이나 재산이 어떻게 변동되면 신고해야 하나요?")
    assert any(Path(c.source).name == "기초연금법_시행령.md" and c.anchor.startswith("제20조")
               for c in changed.citations), changed.answer


def test_a_quoted_catch_all_item_brings_the_rest_of_its_list(excerpts):
    """"5. 그 밖에 대통령령으로 정하는 근로조건" is followed to the 시행령's 요일·시간대·지역, but the conditions the law
    itself lists (임금, 최소근로시간 …) are the first part of the answer."""
    answer = excerpts.ask("가사근로자 근로계약서에 꼭 적어야 하는 근로조건은 뭔가요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert [a for s, a in cited if s == "가사근로자법.md"] == ["제14조 제1항"] + [f"제14조 제1항 제{n}호" for n in range(1, 6)]
    assert ("가사근로자법_시행령.md", "제4조 제2호") in cited, cited
    assert answer.answer.index("임금") < answer.answer.index("그 밖에") < answer.answer.index("제공 가능 시간대")


def test_a_line_that_delegates_nothing_is_followed_for_the_figure_it_lacks(excerpts):
    """법 제15조 ① (who may apply) leaves nothing to the 시행령, but 시행령 제9조 ① names it ("법 제15조제1항에 따른
    선정신청을 받은 경우에는 … 30일 이내에"): asked "며칠", the answer follows it after ①'s own 호; asked who may
    apply, it does not."""
    answer = excerpts.ask("위기청소년 특별지원을 신청하면 며칠 안에 결정되나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("청소년복지법_시행령.md", "제9조 제1항") in cited and "30일 이내" in answer.answer, answer.answer
    assert answer.answer.index("교원") < answer.answer.index("→ 「청소년복지 지원법 시행령」 제9조 제1항")
    who = excerpts.ask("위기청소년 특별지원은 누가 신청할 수 있나요?")
    assert all(Path(c.source).name == "청소년복지법.md" for c in who.citations), who.answer


def test_a_line_that_leaves_its_whole_subject_is_followed_for_it(excerpts):
    """"… 필요한 서류 및 제출방법에 관한 사항은 대통령령으로 정하되" names the papers asked about and leaves them: the
    answer goes on to the 시행령's list of papers."""
    answer = excerpts.ask("벌금 대신 사회봉사를 신청하려면 어떤 서류를 내야 하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("벌금미납자법_시행령.md", "제3조") in cited and "재산세 납부증명서" in answer.answer, answer.answer


def test_a_line_whose_exception_a_decree_bounds_is_followed_for_the_bound(excerpts):
    """법 제10조 ② states 9시간 "다만, … 연장하여 집행할 수 있다"; 시행령 제8조 ② bounds that exception ("법
    제10조제2항 단서에 따라 … 1일 총 13시간을 초과할 수 없다"): asked the most hours a day, both are quoted."""
    answer = excerpts.ask("벌금 대신 하는 사회봉사는 하루에 최대 몇 시간까지 할 수 있나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert cited[0] == ("벌금미납자법.md", "제10조 제2항"), cited
    assert ("벌금미납자법_시행령.md", "제8조 제2항") in cited and "13시간" in answer.answer, answer.answer


def test_asked_how_to_apply_the_article_that_says_what_to_hand_in_leads(excerpts):
    """"이의신청을 하려면 무엇을 적어서 내야?" shares 이의신청·결과 with 제18조 (결과의 통지); 제17조 ① says who hands
    which paper in to whom, the kind of line the question asks for, and leads."""
    answer = excerpts.ask("청원 결과에 이의신청을 하려면 무엇을 적어서 내야 하나요?")
    assert (Path(answer.hits[0].chunk.source).name, answer.hits[0].chunk.anchor) == ("청원법_시행령.md", "제17조")
    assert "이의신청서에" in answer.answer, answer.answer


def test_asked_where_to_apply_an_unquoted_delegating_line_leads_to_the_decree_that_says(excerpts):
    """"경사로 설치 비용을 지원받으려면 어디에 신청?" quotes 제12조 ① (공연장 … 개선); ② (not quoted) leaves the
    support to the 시행령 ("대통령령으로 정하는 바에 따라 … 비용 … 지원할 수 있다"), whose 제6조 ② says where to hand
    in the application: both follow ①."""
    answer = excerpts.ask("공연장에 장애예술인을 위한 경사로를 설치하는 비용을 지원받으려면 어디에 신청하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert cited[:2] == [("장애예술인법.md", "제12조 제1항"), ("장애예술인법.md", "제12조 제2항")], cited
    assert ("장애예술인법_시행령.md", "제6조 제2항") in cited and "지원신청서를 제출" in answer.answer, answer.answer


def test_a_listed_item_a_decree_fills_in_by_name_is_followed(excerpts):
    """법 제6조 ① lists what a 신고서 states, "5. 시위의 경우 그 방법" among them, and delegates nothing; 시행령 제2조
    says what that 호 consists of ("법 제6조제1항제5호에 따른 시위방법은 다음 각 호의 사항을 말한다"): asked what to
    write as the method, the answer goes on to it."""
    answer = excerpts.ask("시위를 신고할 때 시위 방법으로 무엇을 적어야 하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert cited[0] == ("집시법.md", "제6조 제1항"), cited
    assert ("집시법_시행령.md", "제2조") in cited and "시위의 대형" in answer.answer, answer.answer


def test_asked_how_to_request_the_article_that_says_how_leads(excerpts):
    """"…제한해 달라고 요청하려면 어떻게 해야?" asks the steps of a request: 시행령 제5조 (to whom, in writing or by
    word, with a paper to hand in) leads over 법 제14조, which shares 소음 and 집회 with the question."""
    answer = excerpts.ask("집 앞 집회 소음 때문에 주민이 집회를 제한해 달라고 요청하려면 어떻게 해야 하나요?")
    assert (Path(answer.hits[0].chunk.source).name, answer.hits[0].chunk.anchor) == ("집시법_시행령.md", "제5조")


def test_asked_what_a_benefit_covers_the_decree_that_lists_it_follows(excerpts):
    """법 제17조의6 ② grants 의료비 추가 지원 without saying what it covers and delegates nothing; 시행령 제17조의5 ②
    carries it out by listing what ("법 제17조의6제2항에 따라 다음 각 호의 사항에 대한 의료비 중 …"): asked how far
    the support goes, the answer goes on to that list."""
    answer = excerpts.ask("출산지원시설에 입소한 미혼모는 병원비를 어디까지 지원받을 수 있나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert cited[0] == ("한부모법.md", "제17조의6 제2항"), cited
    assert ("한부모법_시행령.md", "제17조의5 제2항") in cited and "산전ㆍ분만ㆍ산후 관리" in answer.answer, answer.answer


def test_asked_which_kind_the_decree_that_lists_the_kinds_follows(excerpts):
    """법 제10조 ② says the 용기 must decompose; 시행령 제8조 ② lists the materials it may be ("법 제10조제2항에 따라
    자연장에 사용하는 용기의 재질은 다음 각 호의 …"): asked which 용기, the answer goes on to that list."""
    answer = excerpts.ask("자연장을 하려는데 유골은 어떤 용기에 넣어서 묻어야 하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("장사법_시행령.md", "제8조 제2항") in cited and "생분해성수지제품" in answer.answer, answer.answer


def test_an_older_statutes_delegation_is_followed(excerpts):
    """Older statutes write "대통령령이 정하는 장소" for "대통령령으로 정하는 장소": 법 제9조 ② delegates to 시행령 제15조
    ①, which lists the places a 담배자동판매기 may stand."""
    answer = excerpts.ask("담배 자동판매기는 어디에 놓을 수 있나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("건강증진법_시행령.md", "제15조 제1항") in cited and "영업장의 내부" in answer.answer, answer.answer
    assert delegates("판매하는 자는 대통령령이 정하는 장소외에서 담배자동판매기를 설치하여 담배를 판매하여서는 아니된다.")
    assert not delegates("이 규칙이 정하는 바에 따라 신청한다.")  # a 시행규칙 speaking of itself


def test_asked_how_often_the_line_that_says_how_often_follows(excerpts):
    """"얼마나 자주" asks for a frequency: 법 제16조 ① says only "정기적으로"; 시행령 제19조 ("법 제16조제1항에 따른 …
    매년 실시한다") states it."""
    assert any(p.search("매년 실시한다") for p in answer_patterns("국민건강영양조사는 얼마나 자주 하나요?"))
    answer = excerpts.ask("국민건강영양조사는 몇 년에 한 번씩 실시하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("건강증진법_시행령.md", "제19조") in cited and "매년" in answer.answer, answer.answer


def test_asked_how_large_a_line_that_leaves_the_number_to_the_decree_is_followed(excerpts):
    """"어느 정도 규모" asks for a size ("1천명 이상"): 법 제21조의3 ① (quoted) says only who should try; ② ("대통령령으로
    정하는 수 이상의 근로자를 사용하는 사업주는 … 제공하여야 한다") leaves the very number asked for to 시행령 제14조의2."""
    assert any(p.search("피보험자 수의 평균이 1천명 이상인 사업주") for p in answer_patterns("회사 규모는 어느 정도인가요?"))
    answer = excerpts.ask("정년퇴직 앞둔 직원에게 재취업지원서비스를 반드시 제공해야 하는 회사는 어느 정도 규모인가요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("고령자고용법_시행령.md", "제14조의2") in cited and "1천명" in answer.answer, (cited, answer.answer)


def indexed(assistant, tmp_path: Path, files) -> Assistant:
    """An assistant over its own index of `files` ((name, text) pairs), written to a folder under `tmp_path`."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in files:
        (docs / name).write_text(text, encoding="utf-8")
    bot = assistant.clone(index_dir=tmp_path / "index", corpus_dir=docs)
    bot.ingest([docs])
    return bot


INCOME_LAW = """# 기초연금법

##### 제1조 (목적)

이 법은 노인에게 기초연금을 지급하여 안정적인 소득기반을 제공함으로써 노인의 생활안정을 지원하고 복지를 증진함을 목적으로 한다.

##### 제2조 (정의)

이 법에서 사용하는 용어의 뜻은 다음과 같다.

  1. "기초연금 수급권"이란 이 법에 따른 기초연금을 받을 권리를 말한다.
  2. "소득인정액"이란 본인 및 배우자의 소득평가액과 재산의 소득환산액을 합산한 금액을 말한다. 이 경우 소득평가액과 재산의 소득환산액을 산정하는 소득 및 재산의 범위는 대통령령으로 정하고, 소득평가액과 재산의 소득환산액의 구체적인 산정방법은 보건복지부령으로 정한다.
"""
INCOME_DECREE = """# 기초연금법 시행령

##### 제1조 (목적)

이 영은 「기초연금법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제3조 (재산의 범위)

법 제2조제2호 후단에 따라 재산의 소득환산액을 산정하는 재산의 범위는 다음 각 호와 같다.

  1. 일반재산: 토지, 건축물, 주택, 자동차
  2. 금융재산

##### 제11조 (감액에 따른 기초연금액 지급수준)

법 제8조제2항에 따라 소득인정액과 기초연금액을 합산한 금액이 선정기준액을 초과하는 사람에게는 선정기준액에서 소득인정액을 뺀 금액이 기준연금액의 100분의 10 이하인 경우 기준연금액의 100분의 10에 해당하는 금액을 지급한다.
"""
INCOME_RULE = """# 기초연금법 시행규칙

##### 제1조 (목적)

이 규칙은 「기초연금법」 및 같은 법 시행령에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제4조 (재산의 소득환산액 산정방식)

**①** 법 제2조제2호에 따른 재산의 소득환산액은 재산가액에서 기본재산액과 부채를 뺀 후 제2항에 따른 재산의 소득환산율을 곱한 금액을 12로 나눈 금액으로 한다.

**②** 제1항에 따른 재산의 소득환산율은 100분의 4로 한다.
"""


def test_asked_for_a_share_the_sibling_paragraph_the_rule_takes_it_from_follows(assistant, tmp_path):
    """"몇 퍼센트" asks for a share, written "100분의 4" in a statute. 법 제2조 제2호 leaves the 범위 to the 시행령 and
    the 산정방법 to the 시행규칙; 시행규칙 제4조 ① (linked) takes the rate from its own ② ("제2항에 따른 … 소득환산율"),
    which states it: the answer follows the law line there, not to the 시행령's list of 재산 nor to another article's
    "100분의 10" (the law line states the share through its rule: as one legal order, it competes as typed)."""
    assert all(any(p.search(text) for p in answer_patterns("몇 퍼센트로 환산하나요?"))
               for text in ("100분의 4로 한다", "10분의 3 이상", "5% 이내"))
    assert not answer_patterns("방송사에 요청해야 하는 방송은 어떤 프로그램인가요?")
    bot = indexed(assistant, tmp_path, (("기초연금법.md", INCOME_LAW), ("기초연금법_시행령.md", INCOME_DECREE),
                                        ("기초연금법_시행규칙.md", INCOME_RULE)))
    answer = bot.ask("기초연금 소득인정액을 계산할 때 재산은 몇 퍼센트로 소득 환산하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert cited == [("기초연금법.md", "제2조 제2호"), ("기초연금법_시행규칙.md", "제4조 제2항")], cited
    assert "100분의 4" in answer.answer, answer.answer


FAMILY_LAW = """# 가족친화 사회환경의 조성 촉진에 관한 법률

##### 제1조 (목적)

이 법은 가족친화 사회환경의 조성을 촉진함으로써 국민의 삶의 질 향상과 국가의 경쟁력 강화에 이바지함을 목적으로 한다.

##### 제15조 (가족친화기업 등 인증)

**①** 성평등가족부장관은 가족친화 사회환경의 조성을 촉진하기 위하여 가족친화제도를 모범적으로 운영하고 있는 기업 또는 공공기관(이하 "기업등"이라 한다)에 대하여 가족친화인증(이하 "인증"이라 한다)을 할 수 있다.

**②** 인증을 받으려는 자는 대통령령으로 정하는 바에 따라 성평등가족부장관에게 신청하여야 한다.

**③** 인증의 기준 및 절차 등에 필요한 사항은 대통령령으로 정한다.

**④** 대통령령으로 정하는 공공기관은 제3항에 따른 인증 기준을 갖추어 성평등가족부장관의 인증을 받아야 한다.
"""
FAMILY_DECREE = """# 가족친화 사회환경의 조성 촉진에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「가족친화 사회환경의 조성 촉진에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제10조 (가족친화기업 등 인증)

**①** 법 제15조제1항에 따른 가족친화인증을 받으려는 기업 또는 공공기관은 성평등가족부장관이 정하여 고시하는 인증기준을 갖추어야 한다.

**②** 법 제15조제4항에서 "대통령령으로 정하는 공공기관"이란 다음 각 호의 기관을 말한다.

  1. 중앙행정기관
  2. 지방자치단체
  3. 「지방공기업법」에 따른 지방공사 및 지방공단
"""


def test_asked_which_ones_the_decree_that_defines_the_term_left_open_follows(assistant, tmp_path):
    """법 제15조 ④ (not quoted: ① holds the question's 인증 better) leaves "대통령령으로 정하는 공공기관" to the
    시행령, whose 제10조 ② defines that very term with a list: asked which 공공기관 must be certified — which ones, not
    a figure — the answer goes on from ① through ④ to that list."""
    bot = indexed(assistant, tmp_path, (("가족친화법.md", FAMILY_LAW), ("가족친화법_시행령.md", FAMILY_DECREE)))
    answer = bot.ask("가족친화인증을 의무적으로 받아야 하는 공공기관은 어디인가요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("가족친화법.md", "제15조 제4항") in cited and ("가족친화법_시행령.md", "제10조 제2항") in cited, cited
    assert "지방자치단체" in answer.answer, answer.answer


DESIGN_LAW = """# 공공디자인의 진흥에 관한 법률

##### 제1조 (목적)

이 법은 공공디자인의 진흥에 필요한 사항을 정함으로써 국민의 삶의 질 향상에 이바지함을 목적으로 한다.

##### 제15조 (추진협의체)

**①** 국가기관등은 공공디자인사업을 원활하게 추진하는 데 필요한 협조를 얻기 위하여 지역 주민, 시민단체, 관련 기업, 관계 전문가, 행정기관 등으로 구성된 공공디자인사업 추진협의체(이하 "추진협의체"라 한다)를 설치할 수 있다.

**②** 추진협의체의 구성 및 운영 등에 필요한 사항은 대통령령으로 정한다.
"""
DESIGN_DECREE = """# 공공디자인의 진흥에 관한 법률 시행령

##### 제1조 (목적)

이 영은 「공공디자인의 진흥에 관한 법률」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제6조 (추진협의체의 구성 및 운영)

**①** 국가기관등은 법 제15조제1항에 따른 공공디자인사업 추진협의체를 설치하려는 경우 해당 공공디자인사업과 관련된 지역 주민 또는 이해관계인이 3분의 1 이상 포함되도록 하여야 한다.

**②** 추진협의체의 위원장은 위원 중에서 호선한다.
"""


def test_asked_how_large_a_part_the_decree_that_gives_the_share_follows(assistant, tmp_path):
    """"얼마나 들어가야" asks how large a part, which a statute may give as a share ("3분의 1 이상"), though not what
    "얼마를 지급" asks. 법 제15조 ① sets up the 협의체 of 지역 주민 and others and states no share; 시행령 제6조 ①
    carries it out with one: the answer goes on to it."""
    assert any(p.search("3분의 1 이상") for p in answer_patterns("협의체에 주민은 얼마나 들어가야 하나요?"))
    assert not any(p.search("3분의 1 이상") for p in answer_patterns("1년에 얼마를 지역화폐로 지급하나요?"))
    bot = indexed(assistant, tmp_path, (("공공디자인법.md", DESIGN_LAW), ("공공디자인법_시행령.md", DESIGN_DECREE)))
    answer = bot.ask("공공디자인사업 추진협의체에 지역 주민은 얼마나 들어가야 하나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("공공디자인법_시행령.md", "제6조 제1항") in cited and "3분의 1" in answer.answer, (cited, answer.answer)


SPORTS_LAW = """# 생활체육진흥법

##### 제1조 (목적)

이 법은 생활체육의 진흥에 필요한 사항을 규정함으로써 생활체육의 기반조성 및 활성화를 도모하고, 생활체육을 통한 국민의 건강과 체력 증진, 여가 선용 및 복지 향상에 이바지함을 목적으로 한다.

##### 제7조 (국민생활체육회)

**①** 생활체육 진흥에 관한 다음 각 호의 사업과 활동을 수행하게 하기 위하여 문화체육관광부장관의 인가를 받아 국민생활체육회(이하 "생활체육회"라 한다)를 설립한다.

  1. 범국민 생활체육 운동 전개를 통한 삶의 질 향상
  2. 생활체육 프로그램 개발 및 보급
  3. 스포츠클럽 및 체육동호인조직 활동의 지원
  4. 생활체육종목단체와 지역생활체육회의 사업과 활동에 대한 지도와 지원
  5. 생활체육대회의 개최와 국제교류
  6. 국민의 생활체육 활동에 관한 조사 및 연구
  7. 그 밖에 생활체육 진흥을 위하여 필요한 사업

**②** 생활체육회는 제1항에 따른 사업의 목적 달성에 필요한 경비를 마련하기 위하여 대통령령으로 정하는 바에 따라 수익사업을 할 수 있다.

**③** 생활체육회는 법인으로 하며, 정관으로 정하는 바에 따라 지부ㆍ지회를 둘 수 있다.

**④** 생활체육회의 임원 중 회장은 정관으로 정하는 바에 따라 선출하며 문화체육관광부장관의 승인을 받아 취임한다.

**⑤** 생활체육회에 관하여 이 법에서 규정한 것 외에는 「민법」 중 사단법인에 관한 규정을 준용한다.
"""
SPORTS_DECREE = """# 생활체육진흥법 시행령

##### 제1조 (목적)

이 영은 「생활체육진흥법」에서 위임된 사항과 그 시행에 필요한 사항을 규정함을 목적으로 한다.

##### 제3조 (국민생활체육회의 수익사업)

**①** 법 제7조에 따른 국민생활체육회(이하 "생활체육회"라 한다)는 같은 조 제2항에 따라 다음 각 호의 수익사업을 할 수 있다.

  1. 부동산 임대사업
  2. 체육시설의 운영사업
  3. 광고권 판매사업 등 생활체육회가 개최하는 생활체육 행사와 관련된 부대사업
  4. 생활체육 진흥을 위한 인쇄물, 시청각 자료, 기념품 등의 제작ㆍ판매 사업
  5. 그 밖에 문화체육관광부장관이 생활체육 진흥을 위하여 필요하다고 인정하는 사업

**②** 생활체육회는 제1항에 따른 수익사업을 하려는 경우에는 미리 문화체육관광부장관의 승인을 받아야 한다.
"""


def test_asked_which_kind_an_unquoted_line_is_followed_to_the_list_of_that_kind(assistant, tmp_path):
    """"어떤 돈 버는 사업을" asks which 사업 (the noun the phrase ends on, not the verb "버는"). 법 제7조 ① is quoted;
    its ② (not quoted) lets the 생활체육회 run 수익사업 "대통령령으로 정하는 바에 따라", and 시행령 제3조 ① carries ②
    out with the list of them ("같은 조 제2항에 따라 다음 각 호의 수익사업"): the answer goes on to that list."""
    assert asked_kinds("어떤 돈 버는 사업을 할 수 있나요?") == ["사업"]
    assert asked_kinds("유골은 어떤 용기에 넣어야 하나요?") == ["용기"] and asked_kinds("어느 정도 규모인가요?") == ["정도"]
    bot = indexed(assistant, tmp_path, (("생활체육진흥법.md", SPORTS_LAW), ("생활체육진흥법_시행령.md", SPORTS_DECREE)))
    answer = bot.ask("국민생활체육회는 운영비를 마련하려고 어떤 돈 버는 사업을 할 수 있나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("생활체육진흥법_시행령.md", "제3조 제1항") in cited and "부동산 임대사업" in answer.answer, (cited, answer.answer)


def test_the_judge_reads_a_delegating_lead_with_the_lines_it_leads_to(excerpts):
    """"전매가 제한되는 오피스텔은 몇 실 이상인가요?": 법 제6조의3 ① leaves both the 오피스텔 and its size to 시행령
    제9조의3 ① ("오피스텔로서 100실 이상인 건축물"). Judged alone, the law line lacks the word asked about (an answer
    refused on a corpus of twelve statutes); read as one legal order with the line it leads to, it lacks nothing, and
    its support rises."""
    assert any(p.search("오피스텔로서 100실 이상인 건축물") for p in answer_patterns("오피스텔은 몇 실 이상인가요?"))
    question = "투기과열지구에서 전매가 제한되는 오피스텔은 몇 실 이상인가요?"
    hits = excerpts.retrieve(question, k=5)
    law = next(h for h in hits if Path(h.chunk.source).name == "건축물분양법.md")
    decree = next(h for h in hits if Path(h.chunk.source).name == "건축물분양법_시행령.md")
    judge = Judge(excerpts.answerability, Features(excerpts.tokenizer, excerpts.index.keyword,
                                                   excerpts.index.rows_by_source.get))
    quotes = [line for line in law.chunk.text.split("\n") if "전매" in line][:1]
    alone = judge(question, [law, decree], quotes)
    along = judge(question, [law, decree], quotes, (decree,))
    missing = FEATURES.index("missing_focus")
    assert alone.features[missing] > 0 and along.features[missing] == 0
    assert along.support > alone.support


def test_a_decree_article_that_fills_in_the_term_is_followed_though_its_items_name_many_articles(excerpts):
    """시행령 제31조 ① fills in "대통령령으로 정하는 사항" of 법 제21조 ② and its 호 name 법 제21조, 제22조, 제23조 and
    제24조: it is not a list of delegated powers (which a 시행령 article implementing more than three law articles
    usually is), so the answer goes on to it."""
    answer = excerpts.ask("주택 임대차 분쟁조정을 신청한 사람에게 위원회가 알려 줘야 하는 사항은 무엇인가요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert ("주택임대차법_시행령.md", "제31조 제1항") in cited and "조정성립의 요건" in answer.answer, answer.answer


def test_asked_how_much_is_taken_off_the_decree_line_that_takes_it_off_follows(excerpts):
    """"얼마나 감경되나요" asks what the 금연교육 takes off: "10만원 이하의 과태료를 부과한다" states the fine, not
    that; 법 제34조 ⑤ leaves the 감면 to the 시행령, whose 제34조 ④ says "교육을 받은 경우: 100분의 50 감경" — the
    line that states the asked figure, before ① (which 교육 counts), which holds more of the question's words."""
    answer = excerpts.ask("금연구역에서 흡연해서 과태료를 물게 됐는데 금연교육을 받으면 과태료가 얼마나 감경되나요?")
    cited = [(Path(c.source).name, c.anchor) for c in answer.citations]
    assert any(a.startswith("제34조 제4항") for s, a in cited if s == "건강증진법_시행령.md"), cited
    assert "100분의 50 감경" in answer.answer, answer.answer
    assert figure_fits("얼마나 깎아 주나요?", "100분의 50", "교육을 받은 경우: 100분의 50 감경")
    assert not figure_fits("얼마나 깎아 주나요?", "10만원", "10만원 이하의 과태료를 부과한다.")


def test_an_article_implementing_many_law_articles_is_followed_where_it_names_its_basis():
    """A 시행령 article whose lines name more than three law articles is taken for a list of delegated powers (its
    "1. 법 제26조에 따른 경로우대에 관한 사무" states nothing of 제26조), unless the linking line opens with the 항 it
    carries out ("법 제34조제5항에 따라 과태료를 감면받으려는 사람은 …")."""
    law, decree = "law.md", "decree.md"
    implements = [Link(decree, "제34조 제1항", "implements", law, f"제{n}조", f"법 제{n}조에 따른 사무") for n in (9, 12, 25)]
    basis = Link(law, "제34조 제5항", "delegates_to", decree, "제34조 제1항",
                 "법 제34조제5항에 따라 과태료를 감면받으려는 사람은 다음 각 호의 교육을 받아야 한다.")
    item = Link(law, "제26조", "delegates_to", decree, "제34조 제1항", "법 제26조에 따른 경로우대에 관한 사무")
    links = StatuteLinks([*implements, Link(decree, "제34조 제1항", "implements", law, "제34조 제5항", basis.sentence),
                          Link(decree, "제34조 제1항", "implements", law, "제26조", item.sentence), basis, item], {})
    assert links.is_list(item) and not links.is_list(basis)


def test_an_implementing_lead_names_the_law_its_lead_line_rests_on(excerpts):
    """시행령 제20조 rests on 법 제18조제1항제3호 (its lead line); its 제3호 names 법 제16조제1항 in passing, and that
    link sorts first: the 근거 법령 line names 제18조."""
    index = excerpts.index
    row = next(r for r, c in enumerate(index.chunks)
               if Path(c.source).name == "기초연금법_시행령.md" and c.anchor.startswith("제20조"))
    chunk = index.chunks[row]
    anchor, quote = EvidenceSelector.quotable_lines(Hit(chunk, 1.0, row))[0]
    citation = Citation(chunk.source, chunk.title, anchor, chunk.page, quote)
    chain = Chain(index, EvidenceSelector(excerpts.tokenizer, index.keyword))
    implements = [x.anchor for x in chain.refs(citation) if x.relation == "implements"]
    assert implements[0].startswith("제16조") and "제18조 제1항" in implements, implements
    assert chain.authority(citation) == "「기초연금법」 제18조 제1항"


def test_ask_json_citations_carry_links_and_article_shows_the_chain(family):
    env = cli_env()
    index = str(family.settings.index_dir)
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "돌 전 아기 아동수당 추가 금액은 얼마인가요?",
                          "--index", index, "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    citations = json.loads(out.stdout)["citations"]
    assert citations and all("links" in c for c in citations)
    assert any(link["relation"] in ("delegates_to", "implements") and {"source", "title", "anchor", "sentence"} <= set(link)
               for c in citations for link in c["links"])
    out = subprocess.run([sys.executable, "-m", "assistant", "article", "아동수당법 제6조", "--index", index, "--json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    view = json.loads(out.stdout)
    assert view["level"] == "법률" and list(view["columns"]) == ["법률", "시행령", "시행규칙"]
    out = subprocess.run([sys.executable, "-m", "assistant", "article", "없는법 제99조", "--index", index],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode != 0 and "찾지 못했습니다" in out.stderr


def test_links_are_sealed_in_the_generation_and_follow_a_changed_decree(family, tmp_path):
    root = family.settings.index_dir
    gen = root / integrity.live_name(root)
    assert LINKS_FILE in json.loads((gen / "manifest.json").read_text(encoding="utf-8"))["integrity"]["files"]
    docs = family.settings.corpus_dir
    decree = docs / "statutes" / DECREE
    original = decree.read_text(encoding="utf-8")
    decree.write_text(original.replace("제4조제5항에서", "제4조에서"), encoding="utf-8")
    try:
        family.ingest([docs])
        index = family.index
        law_links = index.links.of(str(docs / "statutes" / LAW), "제4조 제5항", ("delegates_to",))
        assert not any(x.target_anchor == "제2조 제1항" for x in law_links)  # the named 항 is gone from the text
    finally:
        decree.write_text(original, encoding="utf-8")
        family.ingest([docs])


def test_eval_reports_chain_accuracy(family, tmp_path):
    qa = tmp_path / "qa.jsonl"
    items = [{"id": "h1", "question": "돌이 안 지난 아기는 아동수당을 한 달에 얼마 더 받을 수 있나요?", "answer": "매월 100만원",
              "doc": DECREE, "anchor": "제2조 제1항", "kind": "numeric", "parents": [[LAW, "제4조 제5항"]]},
             {"id": "h2", "question": "아동수당은 몇 살까지 받을 수 있나요?", "answer": "13세 미만", "doc": LAW,
              "anchor": "제4조 제1항", "kind": "fact"}]
    qa.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in items), encoding="utf-8")
    result = run_eval(family, qa)
    assert result["chain_accuracy"] == 1.0
    assert result["chain_misses"] == {"refused": 0, "led_elsewhere": 0, "stopped_short": 0}
    rows = {r["id"]: r for r in result["answers"]}
    assert rows["h1"]["chain_right"] is True and rows["h2"]["chain_right"] is None
    assert rows["h1"]["chain_miss"] is None and rows["h2"]["chain_miss"] is None


def test_a_chain_miss_says_where_the_chain_broke(family):
    """Refused; led by an article outside the chain (ranking); led right but the expected article never cited (the
    chain not followed): three different defects, counted apart."""
    item = {"doc": DECREE, "anchor": "제2조 제1항", "parents": [[LAW, "제4조 제5항"]]}
    answer = family.ask("돌이 안 지난 아기는 아동수당을 한 달에 얼마 더 받을 수 있나요?")
    assert chain_miss(answer, item) is None
    law_line = Citation(str(FAMILY / LAW), "아동수당법", "제4조 제5항", None, "대통령령으로 정하는 금액을 추가로 지급한다")
    elsewhere = Citation(str(FAMILY / RULE), "아동수당법 시행규칙", "제4조", None, "대리인")
    assert chain_miss(dataclasses.replace(answer, refused=True, citations=()), item) == "refused"
    assert chain_miss(dataclasses.replace(answer, citations=(elsewhere, *answer.citations)), item) == "led_elsewhere"
    assert chain_miss(dataclasses.replace(answer, citations=(law_line,)), item) == "stopped_short"


def test_the_api_carries_links_and_serves_an_article(family):
    from fastapi.testclient import TestClient

    from assistant.entrypoints.api import create_app
    from assistant.keys import new_key

    key, entry = new_key("staff")
    bot = family.clone(api_keys=entry, audit_enabled=False)
    client = TestClient(create_app(bot.settings, bot))
    headers = {"Authorization": f"Bearer {key}"}
    answer = client.post("/v1/ask", json={"question": "돌이 안 지난 아기는 아동수당을 한 달에 얼마 더 받을 수 있나요?"},
                         headers=headers).json()
    assert any(link["relation"] == "delegates_to" for c in answer["citations"] for link in c["links"])
    view = client.get("/v1/article", params={"ref": "아동수당법 시행령 제2조"}, headers=headers).json()
    assert view["level"] == "시행령" and any(x["relation"] == "implements" for x in view["links"])
    missing = client.get("/v1/article", params={"ref": "없는법 제1조"}, headers=headers)
    assert missing.status_code == 400 and "찾지 못했습니다" in missing.json()["error"]
    assert client.get("/v1/article", params={"ref": "아동수당법 제4조"}).status_code == 401


def test_a_document_hidden_from_the_question_is_not_reached_through_its_links(family):
    """Links never lead past a filter: a document held out (or internal, at the kiosk) is neither quoted nor named."""
    from assistant.facade import Filters

    decree = str(family.settings.corpus_dir / "statutes" / DECREE)
    answer = family.ask("돌이 안 지난 아기는 아동수당을 한 달에 얼마 더 받을 수 있나요?",
                        filters=Filters(exclude_sources=(decree,)))
    assert all(c.source != decree for c in answer.citations)
    assert all(x.source != decree for c in answer.citations for x in c.links)
    assert all(h.chunk.source != decree for h in family.retrieve("돌 전 아기 아동수당 추가 금액", 10,
                                                                 filters=Filters(exclude_sources=(decree,))))
