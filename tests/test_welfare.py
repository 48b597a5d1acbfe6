"""맞춤형 복지 finder: extraction from the bundled welfare guides, persona matching, and the `welfare` command.

Expected services were checked by hand against corpora/welfare (and the statutes they cite):
- 70세 1인 가구, 기준 중위소득 25 %, 은퇴: 기초연금 (만 65세 이상 + 소득인정액 ≤ 선정기준액, 기초연금법 제3조),
  기초생활 생계급여 (선정기준 ≥ 중위 30 %, 부양의무자 기준은 확인 필요), 주거급여 (선정기준 ≥ 중위 43 %),
  노인일자리 (65세 이상; 참여 기준은 매년 사업 지침).
- 한부모, 자녀 2명, 중위 45 %: 한부모가족 아동양육비 (18세 미만 자녀를 혼자 양육), 아동수당 (13세 미만 아동; 자녀
  나이를 모르면 확인 필요).
- 27세 구직자: 청년 구직급여 (19~34세, 취업하지 못한 상태; 고용보험 180일은 확인 필요).
- 45세 장애인, 중위 40 %: 장애인연금 (만 18세 이상 중증장애인), 장애인 활동지원 (만 6세 이상 장애인).
The corpus has no pregnancy or region-limited service, so no persona expects one.
"""
from __future__ import annotations

import argparse
import json
import shutil

import pytest

from assistant.entrypoints.cli_welfare import add_commands
from assistant.index.store import live_generation, read_docstore
from assistant.welfare.services import BadProfile, Service, extract_services, match, services_for

SERVICES = {"기초생활 생계급여", "기초연금", "긴급복지 생계지원", "노인일자리 및 사회활동 지원", "아동수당", "장애인 활동지원",
            "장애인연금", "주거급여", "청년 구직급여", "한부모가족 아동양육비"}
ELDER = {"age": 70, "household_size": 1, "household_type": "single", "income_ratio": 25, "disability": False,
         "children": 0, "pregnant": False, "region": "경기도 가온시", "employment": "retired"}
SINGLE_PARENT = {"age": 38, "household_size": 3, "household_type": "single_parent", "income_ratio": 45,
                 "disability": False, "children": 2, "pregnant": False, "employment": "employed"}
JOB_SEEKER = {"age": 27, "household_size": 1, "household_type": "single", "income_ratio": 60, "disability": False,
              "children": 0, "pregnant": False, "employment": "unemployed"}
DISABLED = {"age": 45, "household_size": 2, "household_type": "other", "income_ratio": 40, "disability": True,
            "children": 0, "pregnant": False, "employment": "unemployed"}
PERSONAS = {  # persona -> {service: expected eligibility}, all expected in the top 5
    "elder": (ELDER, {"기초연금": "yes", "기초생활 생계급여": "maybe", "주거급여": "yes",
                      "노인일자리 및 사회활동 지원": "maybe"}),
    "single_parent": (SINGLE_PARENT, {"한부모가족 아동양육비": "yes", "아동수당": "maybe"}),
    "job_seeker": (JOB_SEEKER, {"청년 구직급여": "maybe"}),
    "disabled": (DISABLED, {"장애인연금": "maybe", "장애인 활동지원": "maybe"}),
}


@pytest.fixture(scope="module")
def services(assistant):
    return services_for(assistant)


@pytest.fixture(scope="module")
def chunk_text(assistant):
    _, chunks = read_docstore(live_generation(assistant.settings.index_dir))
    return {(c.source, c.anchor): c.text for c in chunks}


def by_name(matches):
    return {m.service.name: m for m in matches}


def test_every_guide_becomes_a_service_with_cited_criteria(services, chunk_text):
    assert {s.name for s in services} == SERVICES
    for s in services:
        assert s.criteria and s.apply and s.department and s.documents, s.name
        for c in [x for crit in s.criteria for x in crit.cites] + [s.target, s.apply_cite]:
            assert c.quote in chunk_text[(c.source, c.anchor)], (s.name, c.quote)
            assert c.anchor.split(" > ")[0] == s.name
    kinds = {s.name: {c.kind for c in s.criteria} for s in services}
    assert {"age", "income"} <= kinds["기초연금"]
    assert {"age", "disability", "severe", "income"} <= kinds["장애인연금"]
    assert {"household", "children", "child_age", "income"} <= kinds["한부모가족 아동양육비"]
    assert {"age", "employment", "fact"} <= kinds["청년 구직급여"]
    basic = next(s for s in services if s.name == "기초연금")
    assert next(c for c in basic.criteria if c.kind == "age").lo == 65
    emergency = next(s for s in services if s.name == "긴급복지 생계지원")
    assert next(c for c in emergency.criteria if c.kind == "income").hi == 75  # 기준 중위소득의 100분의 75 이하
    pdf = next(s for s in services if s.name == "아동수당")
    assert pdf.target.page == 1 and next(c for c in pdf.criteria if c.kind == "child_age").hi == 13


def test_services_survive_a_json_round_trip(services):
    for s in services:
        assert Service.from_json(json.loads(json.dumps(s.to_json(), ensure_ascii=False))) == s


@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_gets_expected_services_in_top_five(persona, services, chunk_text):
    profile, expected = PERSONAS[persona]
    matches = match(profile, services)
    top = by_name(matches[:5])
    for name, eligible in expected.items():
        assert name in top, (persona, name, [m.service.name for m in matches[:5]])
        row = top[name].to_json()
        assert row["eligible"] == eligible, (persona, name, row["why"])
        assert row["citations"] and all(c["quote"] in chunk_text[(c["source"], c["anchor"])] for c in row["citations"])
        assert any("지원 대상" in c["anchor"] for c in row["citations"])
        assert row["why"] and row["apply"] and row["department"]
        assert (eligible == "maybe") == bool(row["missing"])
    ranks = [m.eligible for m in matches]
    assert ranks == sorted(ranks, key=["yes", "maybe", "no"].index)


def test_stated_criteria_exclude(services):
    elder = by_name(match(ELDER, services))
    assert elder["장애인연금"].eligible == "no" and elder["아동수당"].eligible == "no"
    assert elder["한부모가족 아동양육비"].eligible == "no"
    parent = by_name(match(SINGLE_PARENT, services))
    assert parent["청년 구직급여"].eligible == "no"  # employed: not 취업하지 못한 상태
    assert parent["기초연금"].eligible == "no"
    youth = by_name(match(JOB_SEEKER, services))
    assert youth["노인일자리 및 사회활동 지원"].eligible == "no" and youth["장애인연금"].eligible == "no"
    couple = by_name(match({**SINGLE_PARENT, "household_type": "with_children"}, services))
    assert couple["한부모가족 아동양육비"].eligible == "no"


@pytest.mark.parametrize("income", [None, 10, 40, 90, 150])
def test_a_thirty_year_old_is_never_yes_for_basic_pension(services, income):
    m = by_name(match({"age": 30, "income_ratio": income, "household_type": "single"}, services))["기초연금"]
    assert m.eligible == "no" and "만 65세 이상 (현재: 30세)" in m.why


@pytest.mark.parametrize("persona", PERSONAS)
def test_high_income_is_never_yes_for_income_tested_services(persona, services):
    profile = {**PERSONAS[persona][0], "income_ratio": 150}
    for m in match(profile, services):
        if any(c.kind == "income" for c in m.service.criteria):
            assert m.eligible != "yes", (persona, m.service.name)
    emergency = by_name(match(profile, services))["긴급복지 생계지원"]
    assert emergency.eligible == "no"  # 기준 중위소득의 100분의 75 이하 is a stated ceiling


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_missing_fact_makes_maybe_never_yes(persona, services):
    profile, _ = PERSONAS[persona]
    full = by_name(match(profile, services))
    for key in profile:
        partial = by_name(match({k: v for k, v in profile.items() if k != key}, services))
        for name, m in partial.items():
            if m.eligible == "yes":
                assert full[name].eligible == "yes"
            if full[name].eligible == "yes" and m.eligible != "yes":
                assert m.eligible == "maybe" and m.missing, (key, name)
    assert all(m.eligible == "maybe" for m in match({}, services))


def test_optional_refinements_settle_maybe(services):
    parent = by_name(match({**SINGLE_PARENT, "children_ages": [4, 9]}, services))
    assert parent["아동수당"].eligible == "yes"
    teens = by_name(match({**SINGLE_PARENT, "children_ages": [14, 16]}, services))
    assert teens["아동수당"].eligible == "no" and teens["한부모가족 아동양육비"].eligible == "yes"
    severe = by_name(match({**DISABLED, "severe_disability": True}, services))
    assert severe["장애인연금"].eligible == "yes"


@pytest.mark.parametrize("bad", [{"age": "칠십"}, {"household_type": "alone"}, {"incom_ratio": 40}, [1, 2],
                                 {"age": -3}, {"disability": "yes"}])
def test_bad_profiles_are_refused_in_korean(services, bad):
    with pytest.raises(BadProfile):
        match(bad, services)


def run_cli(assistant, argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    parser = argparse.ArgumentParser(prog="assistant")
    add_commands(parser.add_subparsers(dest="command", required=True), common)
    args = parser.parse_args(argv)
    return args.func(args, assistant)


def test_cli_json_and_human_output(assistant, tmp_path, capsys):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(ELDER, ensure_ascii=False), encoding="utf-8")
    assert run_cli(assistant, ["welfare", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["services"][0]
    assert set(first) >= {"name", "why", "eligible", "missing", "apply", "department", "citations"}
    assert first["name"] == "기초연금" and first["eligible"] == "yes"
    assert set(first["citations"][0]) == {"source", "title", "anchor", "page", "quote"}
    assert run_cli(assistant, ["welfare", str(path)]) == 0
    out = capsys.readouterr().out
    assert "기초연금 — 받을 수 있을 것으로 보입니다" in out and "근거: [기초연금 > 지원 대상" in out
    (tmp_path / "bad.json").write_text("{age: 70}", encoding="utf-8")
    with pytest.raises(BadProfile):
        run_cli(assistant, ["welfare", str(tmp_path / "bad.json")])


def test_services_are_refreshed_on_reingest(assistant, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "welfare").mkdir(parents=True)  # one guide keeps the two ingests quick
    shutil.copy(assistant.settings.corpus_dir / "welfare" / "기초연금.md", corpus / "welfare")
    (tmp_path / "index").mkdir()
    bot = assistant.clone(index_dir=tmp_path / "index", corpus_dir=corpus)  # reuses the loaded models
    bot.ingest()
    before = services_for(bot)
    assert services_for(bot) is before and [s.name for s in before] == ["기초연금"]  # cached per generation
    guide = corpus / "welfare" / "기초연금.md"
    guide.write_text(guide.read_text(encoding="utf-8").replace("65세 이상", "60세 이상"), encoding="utf-8")
    bot.ingest()
    after = {s.name: s for s in services_for(bot)}["기초연금"]
    assert next(c for c in after.criteria if c.kind == "age" and c.lo == 60)
    assert by_name(match({"age": 62, "income_ratio": 20}, services_for(bot)))["기초연금"].eligible == "yes"


def test_extraction_ignores_other_document_types(assistant):
    _, chunks = read_docstore(live_generation(assistant.settings.index_dir))
    assert {s.name for s in extract_services(c for c in chunks if c.doc_type != "welfare")} == set()
