"""맞춤형 복지 finder: structured services from the welfare guides in the index, and rule-based matching of a profile.

Extraction works on the index's welfare chunks (`doc_type == "welfare"`): chunks are grouped by service (the
anchor's first part), their `[field]` lines reassembled, and the 지원 대상/선정 기준 sentences read with regexes for
the wording the guides take from the statutes (만 65세 이상, 13세 미만의 아동, 기준 중위소득의 100분의 75 이하,
소득인정액이 선정기준액 이하, 중증장애인, 한부모, 구직 …). Every criterion keeps its quote (an exact substring of
the chunk text) and the chunk's anchor, so each judgement can be cited.

Matching is deterministic: each criterion is met, unmet or unknown for the profile. Any unmet *strict* criterion
makes a service "no"; anything unknown (a missing profile field, or a fact the profile cannot state such as
부양의무자 or 고용보험 가입 기간) makes it "maybe"; "yes" only when every criterion is met.

Income rule (the thresholds are set every year, not in the guides):
- a stated ceiling (기준 중위소득의 100분의 N 이하, N % 이하, 차상위 = 50 %) is applied exactly;
- "소득인정액이 선정기준(액) 이하" (threshold fixed yearly by the minister): met when income_ratio is at or below
  the stated floor (…100분의 N 이상으로 합니다) or, without a floor, at or below 50 % (차상위 line; every yearly
  threshold of these services lies above it); unmet above 100 % (the thresholds are fractions of 기준 중위소득 or
  cover the lower 70 % of a group); unknown in between.
`income_ratio` is read as 소득인정액 / 기준 중위소득 (%), so property converted into income is the applicant's to add.
`children` counts children under 18; an optional `children_ages` list and `severe_disability` bool refine
criteria that the base profile cannot settle (13세 미만 아동, 중증장애인).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest import Chunk

from ..errors import AssistantError

ELIGIBLE_FIELDS = ("지원 대상", "선정 기준")
HOUSEHOLD_TYPES = ("single", "couple", "single_parent", "with_children", "other")
EMPLOYMENT = ("employed", "unemployed", "student", "retired", "other")
PROFILE_TYPES = {"age": (int, float), "household_size": (int,), "household_type": (str,), "income_ratio": (int, float),
                 "disability": (bool,), "children": (int,), "pregnant": (bool,), "region": (str,),
                 "employment": (str,), "children_ages": (list,), "severe_disability": (bool,)}
FIELD_KO = {"age": "나이", "household_type": "가구 유형", "income_ratio": "소득(기준 중위소득 대비 %)",
            "disability": "장애 여부", "children": "자녀 수", "pregnant": "임신 여부", "region": "거주 지역",
            "employment": "취업 상태", "children_ages": "자녀 나이", "severe_disability": "장애 정도가 중증인지"}
HOUSEHOLD_KO = {"single": "1인 가구", "couple": "부부 가구", "single_parent": "한부모 가구",
                "with_children": "자녀가 있는 가구", "other": "기타 가구"}
EMPLOYMENT_KO = {"employed": "취업 중", "unemployed": "미취업(구직 중)", "student": "학생", "retired": "은퇴",
                 "other": "기타"}
ELIGIBLE_KO = {"yes": "받을 수 있을 것으로 보입니다", "maybe": "확인이 더 필요합니다", "no": "조건이 맞지 않습니다"}

# sentences that add people ("…도 신청할 수 있습니다") or describe extra amounts are not requirements
WIDENING = re.compile(r"도\s*(?:신청할|대상이\s*될|받을)\s*수\s*있")
EXTRA = re.compile(r"추가")
EXCLUSION = re.compile(r"받을\s*수\s*없습니다|(?:입소|입원|수용)[^.]*아닌")
DEFINITION = re.compile(r"^(.{1,12}?)(?:이란|란|은|는)\s.*말(?:합니다|하며|한다)", re.S)
CHILD_TERMS = ("아동", "자녀", "아동인 자녀")
LAW_NAME = re.compile(r"「[^」]*」")
CHILD_AGE = re.compile(r"(\d+)\s*세\s*(?:미만|이하)(?:의|인)?\s*(?:아동|자녀)")
CHILD_PRESENT = re.compile(r"(?:아동|자녀)[^.]{0,12}?양육|(?:아동|자녀)이\s*대상")
AGE_RANGE = re.compile(r"(?:만\s*)?(\d+)\s*세\s*이상(?:이고|인|의)?\s*(?:(\d+)\s*세\s*(이하|미만))?")
AGE_MAX = re.compile(r"(?:만\s*)?(\d+)\s*세\s*(이하|미만)(?!(?:의|인)?\s*(?:아동|자녀))")
AGE_SOFT = re.compile(r"연령[^.]*(?:다르게\s*정하면|관계없이)")
NOT_ELDERLY = re.compile(r"노인등이\s*아닌")
MEDIAN = re.compile(r"기준\s*중위소득의?\s*(?:100분의\s*(\d+)|(\d+)\s*(?:%|퍼센트))\s*(이하|미만|이상)")
INCOME_YEARLY = re.compile(r"소득인정액이?[^.]*?선정기준\S*\s*이하|소득\s*기준은[^.]*?정합니다")
NOT_FIXED = re.compile(r"정해져\s*있지\s*않")
SINGLE_PARENT = re.compile(r"한부모|모\s*또는\s*부로서")
LIVING_ALONE = re.compile(r"1인\s*가구|홀로\s*사는|혼자\s*사는")
SEVERE = re.compile(r"중증\s*장애인")
DISABLED = re.compile(r"장애인")
PREGNANT = re.compile(r"임신|임산부|임부")
JOBLESS = re.compile(r"구직|실업|취업하지\s*못한|미취업")
REGION = re.compile(r"([가-힣]+(?:시|군|구|도))\s*에\s*(?:주민등록|주소|거주)")
FACTS = (  # requirements the profile cannot state: always "maybe", with the fact named
    (re.compile(r"부양의무자"), "부양의무자 기준(부양의무자가 없거나 부양능력이 없는지)"),
    (re.compile(r"위기상황"), "위기상황(주소득자 사망·실직, 중한 질병, 화재 등)에 처했는지"),
    (re.compile(r"피보험"), "고용보험 가입 기간(이직 전 18개월 중 180일 이상)과 이직 사유"),
    (re.compile(r"혼자서\s*일상생활"), "혼자서 일상생활·사회생활을 하기 어려운 정도(종합조사로 판정)"),
    (re.compile(r"근로능력이?\s*있는"), "근로능력 또는 지역봉사 참여 희망"),
    (NOT_FIXED, "매년 사업 지침으로 정하는 참여 기준"),
)
SENTENCE = re.compile(r"\S.*?(?:\.(?=\s)|$)", re.S)
INCOME_LOW, INCOME_HIGH = 50, 100


class BadProfile(AssistantError):
    exit_code = 1


@dataclass(frozen=True)
class Cite:
    source: str
    title: str
    anchor: str
    page: int | None
    quote: str  # exact substring of the chunk text


@dataclass
class Criterion:
    # age | income | household | children | child_age | disability | severe | pregnant | employment | region | fact
    kind: str
    label: str  # the requirement in plain Korean
    cites: list[Cite]
    lo: float | None = None
    hi: float | None = None  # exclusive upper bound for ages, inclusive ceiling for income
    value: str | None = None
    floor: float | None = None  # income: the yearly threshold is at least this % of 기준 중위소득
    yearly: bool = False
    strict: bool = True  # an unmet non-strict criterion makes "maybe", not "no"


@dataclass
class Service:
    name: str
    source: str
    title: str
    department: str | None
    contact: str | None
    benefit: str
    apply: str
    documents: list[str]
    criteria: list[Criterion]
    exclusions: list[Cite]
    target: Cite | None  # first sentence of 지원 대상
    apply_cite: Cite | None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Service:
        data = dict(data)
        data["criteria"] = [Criterion(**{**c, "cites": [Cite(**x) for x in c["cites"]]}) for c in data["criteria"]]
        data["exclusions"] = [Cite(**x) for x in data["exclusions"]]
        data["target"] = Cite(**data["target"]) if data["target"] else None
        data["apply_cite"] = Cite(**data["apply_cite"]) if data["apply_cite"] else None
        return cls(**data)


@dataclass
class Match:
    service: Service
    eligible: str
    why: str
    missing: list[str]
    checks: list[tuple[Criterion, str, str]]  # (criterion, met|unmet|unknown, what the profile says)

    @property
    def met(self) -> int:
        return sum(status == "met" for _, status, _ in self.checks)

    def to_json(self) -> dict:
        s = self.service
        cites = [c for crit, _, _ in self.checks for c in crit.cites] + [c for c in (s.target, s.apply_cite) if c]
        seen, citations = set(), []
        for c in cites:
            if (c.source, c.anchor, c.quote) not in seen:
                seen.add((c.source, c.anchor, c.quote))
                citations.append(asdict(c))
        return {"name": s.name, "why": self.why, "eligible": self.eligible, "missing": self.missing,
                "apply": s.apply, "department": s.department, "citations": citations, "contact": s.contact,
                "benefit": s.benefit, "documents": s.documents,
                "conditions": [{"label": c.label, "status": st, "profile": seen_, "strict": c.strict}
                               for c, st, seen_ in self.checks]}


# ---------------------------------------------------------------- extraction

def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def field_sentences(chunk: Chunk) -> list[tuple[str, int, int]]:
    """(field, start, end) for every sentence or list item of a welfare chunk, as offsets into its text."""
    text, out = chunk.text, []
    fields = chunk.anchor.split(" > ", 1)[1].split(", ") if " > " in chunk.anchor else []
    current = fields[0] if fields else ""
    run: list[int] | None = None  # [start, end] of consecutive prose lines

    def flush():
        nonlocal run
        if run:
            for m in SENTENCE.finditer(text, run[0], run[1]):
                out.append((current, m.start(), m.end()))
        run = None

    pos = text.find("\n") + 1 if "\n" in text else len(text)  # the first line repeats the service name
    for line in text[pos:].split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if line.startswith("[") and line.endswith("]"):
            flush()
            current = line[1:-1]
        elif line.startswith("- "):
            flush()
            out.append((current, start + 2, end))
        elif line.strip():
            run = [run[0] if run else start, end]
    flush()
    return out


def cite(chunk: Chunk, start: int, end: int) -> Cite:
    return Cite(chunk.source, chunk.title, chunk.anchor, chunk.page, chunk.text[start:end])


def read_criteria(name: str, sentences: list[tuple[str, Cite]]) -> tuple[list[Criterion], list[Cite]]:
    """Criteria and exclusions from the 지원 대상/선정 기준 sentences of one service."""
    found: dict[tuple, Criterion] = {}
    exclusions: list[Cite] = []
    income = {"hi": None, "floor": None, "yearly": False, "cites": []}
    soft_age = any(AGE_SOFT.search(c.quote) for _, c in sentences)

    def add(kind, label, c, strict=True, **kw):
        key = (kind, kw.get("lo"), kw.get("hi"), kw.get("value"), label if kind == "fact" else None)
        if key in found:
            if c not in found[key].cites:
                found[key].cites.append(c)
        else:
            found[key] = Criterion(kind, label, [c], strict=strict, **kw)

    for _, c in sentences:
        text = LAW_NAME.sub(" ", flat(c.quote))
        if EXCLUSION.search(text):
            exclusions.append(c)
        if WIDENING.search(text) or EXTRA.search(text) or EXCLUSION.search(text):
            continue
        definition = DEFINITION.match(text)
        if definition:
            term = definition.group(1).strip()
            if term in CHILD_TERMS:
                m = re.search(r"(\d+)\s*세\s*미만", text)
                if m:
                    add("child_age", f"자녀가 {m.group(1)}세 미만 아동", c, hi=int(m.group(1)))
                continue
            if term not in name:
                continue  # defines a sub-group or a word (청소년 한부모, 위기상황, 중증장애인): not a requirement
        for m in CHILD_AGE.finditer(text):
            add("child_age", f"자녀가 {m.group(1)}세 미만 아동", c, hi=int(m.group(1)) + (m.group(0).find("이하") >= 0))
        if CHILD_AGE.search(text) or CHILD_PRESENT.search(text):
            add("children", "양육하는 아동(자녀)이 있음", c)
        rest = CHILD_AGE.sub(" ", text)
        for m in AGE_RANGE.finditer(rest):
            lo, hi = int(m.group(1)), m.group(2) and int(m.group(2)) + (m.group(3) == "이하")
            label = f"만 {lo}세 이상" + (f" {m.group(2)}세 {m.group(3)}" if hi else "")
            add("age", label, c, strict=not soft_age, lo=lo, hi=hi or None)
        for m in AGE_MAX.finditer(AGE_RANGE.sub(" ", rest)):
            add("age", f"{m.group(1)}세 {m.group(2)}", c, strict=not soft_age,
                hi=int(m.group(1)) + (m.group(2) == "이하"))
        if NOT_ELDERLY.search(rest):
            add("age", "65세 미만(노인장기요양 대상이 아닌 사람, 기존 수급자 등 예외 있음)", c, strict=False, hi=65)
        if not NOT_FIXED.search(text):
            for m in MEDIAN.finditer(text):
                n = int(m.group(1) or m.group(2))
                if m.group(3) == "이상":
                    income["floor"] = max(income["floor"] or 0, n)
                else:
                    income["hi"] = min(income["hi"] or 999, n - (m.group(3) == "미만") * 0.01)
                income["cites"].append(c)
            if "차상위" in text:
                income["hi"] = min(income["hi"] or 999, 50)
                income["cites"].append(c)
            if INCOME_YEARLY.search(text):
                income["yearly"] = True
                income["cites"].append(c)
        if SINGLE_PARENT.search(text):
            add("household", "한부모가족(배우자와 사별·이혼·미혼 등으로 혼자 아동을 양육)", c, value="single_parent")
        if LIVING_ALONE.search(text):
            add("household", "1인 가구(혼자 사는 사람)", c, value="single")
        if SEVERE.search(text):
            add("disability", "장애인", c)
            add("severe", "장애 정도가 중증인 장애인", c)
        elif DISABLED.search(text):
            add("disability", "장애인", c)
        if PREGNANT.search(text):
            add("pregnant", "임신 중", c)
        if JOBLESS.search(text):
            add("employment", "일할 의사와 능력이 있으나 취업하지 못한 상태(구직 중)", c, value="unemployed")
        for m in REGION.finditer(text):
            add("region", f"{m.group(1)}에 사는 사람", c, value=m.group(1))
        for pattern, label in FACTS:
            if pattern.search(text):
                add("fact", label, c)
    criteria = list(found.values())
    if income["cites"] and (income["hi"] or income["floor"] or income["yearly"]):
        hi, floor = income["hi"], income["floor"]
        label = f"소득이 기준 중위소득의 {hi:g}% 이하" if hi else "소득인정액이 매년 정하는 선정기준(액) 이하"
        if floor and not hi:
            label += f"(선정기준은 기준 중위소득의 {floor}% 이상으로 정함)"
        cites = list(dict.fromkeys(income["cites"]))
        criteria.append(Criterion("income", label, cites, hi=hi, floor=floor,
                                  yearly=income["yearly"] or (bool(floor) and not hi)))
    return criteria, exclusions


def extract_services(chunks) -> list[Service]:
    """One `Service` per welfare service in the chunks (grouped by source and the anchor's first part)."""
    groups: dict[tuple[str, str], list[Chunk]] = {}
    for chunk in chunks:
        if chunk.doc_type == "welfare":
            groups.setdefault((chunk.source, chunk.anchor.split(" > ")[0]), []).append(chunk)
    services = []
    for (source, name), parts in groups.items():
        fields: dict[str, list[Cite]] = {}
        for chunk in parts:
            for fname, start, end in field_sentences(chunk):
                fields.setdefault(fname, []).append(cite(chunk, start, end))
        eligibility = [(f, c) for f in ELIGIBLE_FIELDS for c in fields.get(f, [])]
        criteria, exclusions = read_criteria(name, eligibility)
        contact = next((c.department for c in parts if c.department), None)
        department = re.match(r"[^(,]+", contact).group(0).strip() if contact else None
        benefit = [flat(c.quote) for f in ("지원 내용", "지원 금액") for c in fields.get(f, [])]
        apply = [c for f in ("신청 방법", "신청 절차") for c in fields.get(f, [])]
        documents = [flat(c.quote) for f in ("구비 서류", "제출 서류") for c in fields.get(f, [])]
        services.append(Service(
            name=name, source=source, title=parts[0].title, department=department, contact=contact,
            benefit=" ".join(benefit[:2]), apply=flat(apply[0].quote) if apply else "",
            documents=documents, criteria=criteria, exclusions=exclusions,
            target=eligibility[0][1] if eligibility else None, apply_cite=apply[0] if apply else None))
    return services


_CACHE: dict[tuple[str, str], list[Service]] = {}
SERVICES_FILE = "welfare.json"


def write_services(generation: Path, chunks: list[Chunk]) -> None:
    """Written by each ingest into the new generation, so the finder never re-reads the guides at question time."""
    (generation / SERVICES_FILE).write_text(json.dumps([s.to_json() for s in extract_services(chunks)],
                                                       ensure_ascii=False), encoding="utf-8")


def services_for(assistant) -> list[Service]:
    """Services of the generation answers come from, read once per generation from the `welfare.json` its ingest
    wrote (a re-ingest refreshes them); a file that cannot be read is that generation's damage, named."""
    from ..index.integrity import reading

    gen = Path(assistant.settings.index_dir) / assistant.index.generation  # the generation answers come from
    key = (str(gen.resolve()), gen.name)
    if key not in _CACHE:
        with reading(gen, SERVICES_FILE, (OSError, ValueError, TypeError, KeyError)):
            _CACHE[key] = [Service.from_json(x) for x in json.loads((gen / SERVICES_FILE).read_text(encoding="utf-8"))]
    return _CACHE[key]


# ---------------------------------------------------------------- matching

def check_profile(profile) -> dict:
    """The profile with nulls dropped; a clear Korean error for unknown keys or wrong values."""
    if not isinstance(profile, dict):
        raise BadProfile("프로필은 JSON 객체여야 합니다. 예: {\"age\": 72, \"income_ratio\": 40}")
    out = {}
    for key, value in profile.items():
        if key not in PROFILE_TYPES:
            raise BadProfile(f"알 수 없는 항목입니다: {key} (가능한 항목: {', '.join(PROFILE_TYPES)})")
        if value is None:
            continue
        types = PROFILE_TYPES[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise BadProfile(f"{key}의 값이 올바르지 않습니다: {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise BadProfile(f"{key}는 0 이상이어야 합니다: {value}")
        out[key] = value
    for key, allowed in (("household_type", HOUSEHOLD_TYPES), ("employment", EMPLOYMENT)):
        if key in out and out[key] not in allowed:
            raise BadProfile(f"{key}는 {' · '.join(allowed)} 중 하나여야 합니다: {out[key]}")
    if "children_ages" in out and not all(isinstance(a, (int, float)) and a >= 0 for a in out["children_ages"]):
        raise BadProfile("children_ages는 자녀 나이(숫자)의 목록이어야 합니다.")
    return out


def judge(c: Criterion, p: dict) -> tuple[str, str, str | None]:
    """(met|unmet|unknown, what the profile says, the missing fact or None)."""
    def absent(key):
        return "unknown", "정보 없음", f"{FIELD_KO[key]}({key})"

    if c.kind == "age":
        if "age" not in p:
            return absent("age")
        ok = (c.lo is None or p["age"] >= c.lo) and (c.hi is None or p["age"] < c.hi)
        return ("met" if ok else "unmet"), f"{p['age']:g}세", None
    if c.kind == "income":
        if "income_ratio" not in p:
            return absent("income_ratio")
        r, seen = p["income_ratio"], f"기준 중위소득의 {p['income_ratio']:g}%"
        if c.hi is not None and r > c.hi:
            return "unmet", seen, None
        if not c.yearly:
            return "met", seen, None
        if r <= (c.floor or INCOME_LOW):
            return "met", seen, None
        if r > INCOME_HIGH:
            return "unmet", seen, None
        return "unknown", seen, "올해 선정기준(액)과 소득인정액 비교(재산 포함, 신청 후 조사)"
    if c.kind == "household":
        kind = p.get("household_type")
        if kind is None and c.value == "single" and "household_size" in p:
            kind = "single" if p["household_size"] == 1 else "other"
        if kind is None:
            return absent("household_type")
        if kind == c.value:
            return "met", HOUSEHOLD_KO[kind], None
        if kind == "other":
            return "unknown", HOUSEHOLD_KO[kind], f"{c.label}에 해당하는지"
        return "unmet", HOUSEHOLD_KO[kind], None
    if c.kind == "children":
        n = p.get("children", len(p["children_ages"]) if "children_ages" in p else None)
        if n is None:
            return absent("children")
        return ("met" if n > 0 else "unmet"), f"자녀 {n}명", None
    if c.kind == "child_age":
        if "children_ages" in p:
            ages = p["children_ages"]
            return ("met" if any(a < c.hi for a in ages) else "unmet"), "자녀 " + ", ".join(f"{a:g}세" for a in ages), None
        if p.get("children") == 0:
            return "unmet", "자녀 0명", None
        if "children" in p and c.hi >= 18:  # `children` counts children under 18
            return "met", f"18세 미만 자녀 {p['children']}명", None
        return "unknown", "자녀 나이 정보 없음", f"자녀 나이(children_ages): {c.hi}세 미만인 자녀가 있는지"
    if c.kind in ("disability", "pregnant"):
        key = c.kind
        if key not in p:
            return absent(key)
        words = {"disability": ("장애 있음", "장애 없음"), "pregnant": ("임신 중", "임신 아님")}[key]
        return ("met" if p[key] else "unmet"), words[0 if p[key] else 1], None
    if c.kind == "severe":
        if p.get("disability") is False:
            return "unmet", "장애 없음", None
        if "severe_disability" not in p:
            return absent("severe_disability")
        return ("met" if p["severe_disability"] else "unmet"), ("중증" if p["severe_disability"] else "중증 아님"), None
    if c.kind == "employment":
        if "employment" not in p:
            return absent("employment")
        e = p["employment"]
        if e == c.value:
            return "met", EMPLOYMENT_KO[e], None
        if e == "employed":
            return "unmet", EMPLOYMENT_KO[e], None
        return "unknown", EMPLOYMENT_KO[e], "구직 중(일할 의사와 능력이 있는지)"
    if c.kind == "region":
        if "region" not in p:
            return absent("region")
        return ("met" if c.value in p["region"] else "unmet"), p["region"], None
    return "unknown", "신청 후 확인", c.label  # fact


def explain(s: Service, eligible: str, checks) -> str:
    """A short plain-Korean explanation from the judged conditions and the guide's own words."""
    groups = {st: [f"{c.label} (현재: {seen})" for c, st_, seen in checks if st_ == st]
              for st in ("met", "unmet", "unknown")}
    soft = [c for c, st, _ in checks if st == "unmet" and not c.strict]
    parts = [f"{s.name}: {ELIGIBLE_KO[eligible]}."]
    if groups["met"]:
        parts.append("맞는 조건: " + ", ".join(groups["met"]) + ".")
    if groups["unmet"]:
        parts.append("맞지 않는 조건: " + ", ".join(groups["unmet"]) + "."
                     + (" 안내문에 예외가 있어 제외로 보지 않습니다." if soft and len(soft) == len(groups["unmet"]) else ""))
    if groups["unknown"]:
        parts.append("확인이 필요한 조건: " + ", ".join(groups["unknown"]) + ".")
    if not checks:
        parts.append("안내문에서 자격 조건을 찾지 못했습니다. 담당 부서에 문의하세요.")
    quote = next((c.cites[0].quote for c, _, _ in checks), s.target.quote if s.target else None)
    if quote:
        parts.append(f"안내문: “{flat(quote)}”")
    if s.exclusions and eligible != "no":
        parts.append(f"함께 확인할 조건: “{flat(s.exclusions[0].quote)}”")
    return " ".join(parts)


def match(profile: dict, services: list[Service]) -> list[Match]:
    """Every service judged for the profile, ranked yes > maybe > no, then by the number of met conditions."""
    p = check_profile(profile)
    out = []
    for s in services:
        checks, missing = [], []
        for c in s.criteria:
            status, seen, lack = judge(c, p)
            checks.append((c, status, seen))
            if lack and lack not in missing:
                missing.append(lack)
        if any(st == "unmet" and c.strict for c, st, _ in checks):
            eligible = "no"
        elif not checks or any(st != "met" for _, st, _ in checks):
            eligible = "maybe"
        else:
            eligible = "yes"
        out.append(Match(s, eligible, explain(s, eligible, checks), missing if eligible == "maybe" else [], checks))
    order = {"yes": 0, "maybe": 1, "no": 2}
    out.sort(key=lambda m: (order[m.eligible], -m.met, sum(st != "met" for _, st, _ in m.checks), m.service.name))
    return out


def find(assistant, profile: dict) -> dict:
    """The `welfare` command's JSON: {"services": [...]} for the live index."""
    return {"services": [m.to_json() for m in match(profile, services_for(assistant))]}
