"""The AI-use register entry (AI 활용 현황 등록부) for this deployment, read from the live system each time:
the models actually loaded (with weight checksums), every document in the live index, the last evaluation and
where data lives. Nothing here is hand-maintained except the fixed policy texts below."""
from __future__ import annotations

import importlib.metadata
import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from .audit import audit_path
from ..errors import AssistantError
from ..index.packaged_model import file_sha256

PURPOSE = ("지자체 공무원과 민원인이 조례·법령·업무 매뉴얼·복지 안내 문서에서 근거 조문을 찾고, 인용된 원문으로 답을 "
           "확인하도록 돕는 문서 기반 안내 도구입니다. 행정 처분이나 수급 자격을 결정하지 않습니다.")
RISK = {
    "classification": "제한적 위험 (정보 안내용, 자기 평가)",
    "rationale": ("답변은 색인된 공문서의 원문 인용으로만 구성되며, 근거가 부족하면 답하지 않고 담당 부서를 안내합니다. "
                  "개인에 대한 자격 판정·처분·평가에 쓰이지 않으므로 고영향 인공지능에 해당하지 않는다고 판단합니다. "
                  "복지 서비스 안내는 신청 가능성 안내일 뿐이며 결정은 담당 공무원이 합니다. "
                  "이 분류는 운영 기관이 검토·확정해야 합니다."),
}
HUMAN_OVERSIGHT = ("모든 답변에 출처(문서·조문)가 함께 표시되어 담당자가 원문을 확인할 수 있습니다. 근거가 부족한 질문은 "
                   "거절하고 담당 부서와 연락처를 안내합니다. 민원 안내(키오스크) 모드는 공개 문서만 사용합니다. "
                   "모든 질의응답은 개인정보를 가린 뒤 해시 체인 감사 기록에 남고, 관리자가 `assistant audit verify`로 "
                   "위·변조 여부를 확인할 수 있습니다. 최종 판단과 처분은 언제나 담당 공무원이 합니다.")
LIMITATIONS = [
    "색인된 문서에 없는 내용(최신 개정, 다른 기관 소관 사항)은 답할 수 없으며, 문서가 낡으면 답도 낡습니다.",
    "검색이 틀린 조문을 가장 위에 올릴 수 있습니다. 인용된 원문과 조문 번호를 반드시 확인해 주세요.",
    "스캔 이미지로만 된 PDF와 표·그림 안의 내용은 읽지 못하거나 일부만 읽습니다.",
    "개인정보 가리기는 정해진 형식(주민등록번호, 전화번호, 이메일, 카드·계좌번호, 도로명·지번 주소)만 찾습니다. "
    "이름이나 자유로운 서술 속 개인정보는 가려지지 않을 수 있으니 질문에 개인정보를 넣지 않도록 안내해 주세요.",
    "영어 질문은 지원하지만 문서가 한국어이므로 한국어 질문보다 검색 품질이 낮을 수 있습니다.",
]
EVAL_KEYS = ("n", "recall@1", "recall@5", "mrr", "citation_precision", "refusal_accuracy")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _licence(package: str, fallback: str) -> str:
    """From the installed package's metadata, so the register follows what is really installed."""
    try:
        meta = importlib.metadata.metadata(package)
    except importlib.metadata.PackageNotFoundError:
        return fallback
    if meta.get("License-Expression"):
        return meta["License-Expression"]
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: OSI Approved :: "):
            return classifier.rsplit(" :: ", 1)[1].replace(" License", "")
    return meta.get("License") or fallback


def _shown_endpoints(settings, public: bool) -> list[str]:
    """The generation servers as the register shows them: full addresses for staff, host names on the public page."""
    if not public:
        return settings.llm_endpoints
    return [urlsplit(e).hostname or "설정된 서버" for e in settings.llm_endpoints]


def _models(assistant, public: bool = False) -> list[dict]:
    s, emb = assistant.settings, assistant.embedder
    weights = emb.weights_file()
    models = [{
        "role": "임베딩(의미 검색)", "name": emb.name, "model_id": emb.model_id, "package": emb.package,
        "version": _version(emb.package) if emb.packaged else emb.version,
        "licence": _licence(emb.package, "MIT") if emb.packaged else "모델 폴더의 README 참조",
        "weights_file": weights.name, "weights_sha256": emb.weights_sha256(), "weights_bytes": weights.stat().st_size,
        "note": f"{emb.library} · {emb.backend} ({emb.device}); 같은 가중치를 이 서버 안에서만 실행합니다",
    }, *_reranker(assistant), *_learned(assistant, public), {
        "role": "형태소 분석(키워드 검색)", "name": "Kiwi", "package": "kiwipiepy", "version": _version("kiwipiepy"),
        "model_package": "kiwipiepy-model", "model_version": _version("kiwipiepy-model"),
        "licence": _licence("kiwipiepy", "Apache-2.0"),
    }]
    try:
        name = assistant.backend.name
    except AssistantError as exc:  # the register must still be printable when the backend is misconfigured
        name = f"{s.backend} (사용 불가: {exc})"
    answer = {"role": "답변 생성", "backend": s.backend, "name": name}
    if s.backend == "extractive":
        answer["note"] = "생성 모델을 쓰지 않습니다: 답변은 문서 원문을 정해진 틀에 인용해 만듭니다."
    else:
        answer.update({"model": s.llm_model_name or Path(s.llm_model_path).name or None,
                       "endpoint": ", ".join(_shown_endpoints(s, public)) or None})
        path = Path(s.llm_model_path) if s.llm_model_path else None
        if path and path.is_file():  # can take seconds for a multi-GB file; the register is built on request only
            answer.update({"weights_file": path.name, "weights_sha256": file_sha256(path)})
    models.append(answer)
    return models


def _reranker(assistant) -> list[dict]:
    reranker = assistant.reranker
    if reranker is None:
        return []
    return [{"role": "재순위(교차 인코더)", "name": reranker.name, "package": "sentence-transformers",
             "weights_file": reranker.weights.name, "weights_sha256": reranker.checksum,
             "weights_bytes": reranker.weights.stat().st_size, "licence": "모델 폴더의 README 참조",
             "note": f"검색 상위 {assistant.settings.reranker_depth}개를 다시 점수 매깁니다 ({reranker.device})"}]


def _learned(assistant, public: bool) -> list[dict]:
    """The learned ranker and answerability model in use: packaged, or fitted by `assistant tune` on the
    organisation's labelled questions (with the checksums `info` and the audit log show)."""
    described = assistant.models.describe()
    tuned = described["origin"] != "packaged"
    source = "기관이 라벨을 붙인 질문으로 assistant tune이 다시 맞춤" if tuned else "공개 평가 세트로 학습해 패키지에 포함"
    out = []
    for key, role in (("ranker", "검색 순위 보정(학습)"), ("answerability", "답변 가능성 판단(학습)")):
        file = described[key]
        if file:
            out.append({"role": role, "name": Path(file["path"]).name, "package": "sovereign-assistant",
                        "origin": described["origin"], "weights_file": None if public else file["path"],
                        "weights_sha256": file["sha256"], "note": f"로지스틱 모델 · {source}"})
    return out


def _evaluation(index_dir: Path) -> dict | None:
    path = Path(index_dir) / "eval" / "latest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    out = {key: data.get(key) for key in EVAL_KEYS}
    out["evaluated_at"] = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    return out


def build_register(assistant, public: bool = False) -> dict:
    """The register entry as a JSON-serialisable dict. `public` is the no-login page: internal-audience documents
    are counted but not named, and server paths and endpoint addresses are left out."""
    s = assistant.settings
    index = assistant.index
    manifest = getattr(index, "manifest", {}) or {}
    docs = [{key: d.get(key) for key in ("source", "title", "doc_type", "content_sha256", "ingested_at",
                                         "effective_date", "audience")}
            for d in sorted(index.documents, key=lambda d: d["source"])]
    internal = sum(d.get("audience") == "internal" for d in docs)
    if public:
        docs = [d for d in docs if d.get("audience") != "internal"]
    external = _shown_endpoints(s, public)
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "system": {"name": "지자체 문서 기반 행정 도우미", "version": _version("sovereign-assistant"),
                   "purpose": PURPOSE, "users": ["공무원(staff)", "민원인(kiosk, 공개 문서만)"]},
        "operator": {"body": getattr(s, "operator_name", "") or s.default_department,
                     "contact": getattr(s, "operator_contact", "") or s.default_contact},
        "models": _models(assistant, public),
        "data_sources": {"count": len(index.documents), "internal_unlisted": internal if public else 0,
                         "index_generation": getattr(index, "generation", None),
                         "index_updated_at": manifest.get("updated_at"), "documents": docs},
        "languages": ["ko", "en"],
        "risk": RISK,
        "human_oversight": HUMAN_OVERSIGHT,
        "limitations": LIMITATIONS,
        "evaluation": _evaluation(s.index_dir),
        "storage": {"index_dir": None if public else str(Path(s.index_dir).resolve()),
                    "audit_log": None if public else str(audit_path(s).resolve()),
                    "location": "기관 내부 서버(온프레미스)", "external_services": external,
                    "note": ("외부 서비스를 쓰지 않습니다: 모든 처리가 이 서버 안에서 이루어집니다." if not external else
                             "답변 생성에 설정된 외부 서버를 씁니다: 질문과 근거 문서가 그 서버로 전송됩니다.")},
    }


def _cell(value) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(reg: dict) -> str:
    """The register entry in Korean Markdown, for the admin page and for printing."""
    op, st = reg["operator"], reg["storage"]
    out = [f"# AI 활용 등록부: {reg['system']['name']}", "", f"작성 시각(UTC): {reg['generated_at']}", "",
           "## 목적", reg["system"]["purpose"], "", f"이용자: {', '.join(reg['system']['users'])}", "",
           "## 운영 기관", f"- 기관·부서: {op['body']}", f"- 연락처: {op['contact']}", "",
           "## 사용 모델", "| 역할 | 모델 | 패키지 | 버전 | 라이선스 | 가중치 SHA-256 |", "|---|---|---|---|---|---|"]
    for m in reg["models"]:
        package = m.get("package") or m.get("backend") or ""
        version = m.get("version") or ""
        if m.get("model_package"):
            package, version = f"{package} + {m['model_package']}", f"{version} + {m.get('model_version')}"
        out.append(f"| {_cell(m['role'])} | {_cell(m.get('model_id') or m.get('model') or m.get('name'))} | "
                   f"{_cell(package)} | {_cell(version)} | {_cell(m.get('licence', ''))} | "
                   f"{_cell(m.get('weights_sha256', ''))} |")
    out += [f"- {m['role']}: {m['note']}" for m in reg["models"] if m.get("note")]
    ds = reg["data_sources"]
    out += ["", f"## 데이터 출처 (색인 문서 {ds['count']}건, 세대 {ds['index_generation']})",
            "| 문서 | 제목 | 종류 | 시행일 | 색인 시각 | 내용 SHA-256 |", "|---|---|---|---|---|---|"]
    out += [f"| {_cell(d['source'])} | {_cell(d['title'])} | {_cell(d['doc_type'])} | {_cell(d['effective_date'])} | "
            f"{_cell(d['ingested_at'])} | {_cell((d['content_sha256'] or '')[:16])}… |" for d in ds["documents"]]
    if ds.get("internal_unlisted"):
        out.append(f"\n그 밖에 직원용 내부 문서 {ds['internal_unlisted']}건이 색인되어 있습니다 (직원 화면에서만 쓰이며 "
                   "민원 안내에는 쓰이지 않습니다).")
    out += ["", "## 언어", ", ".join({"ko": "한국어", "en": "영어"}.get(x, x) for x in reg["languages"]), "",
            "## 위험 분류", f"**{reg['risk']['classification']}**", "", reg["risk"]["rationale"], "",
            "## 사람의 감독", reg["human_oversight"], "", "## 알려진 한계"]
    out += [f"- {x}" for x in reg["limitations"]]
    out += ["", "## 평가 결과"]
    ev = reg["evaluation"]
    if ev:
        out += [f"최근 평가 ({ev['evaluated_at']}, 질문 {ev['n']}개)", "", "| 지표 | 값 |", "|---|---|"]
        out += [f"| {k} | {_cell(ev.get(k))} |" for k in EVAL_KEYS if k != "n"]
    else:
        out.append("평가 기록이 없습니다. `assistant eval QA.jsonl`을 실행하면 여기에 반영됩니다.")
    out += ["", "## 데이터 저장 위치", f"- 위치: {st['location']}"]
    out += [f"- 색인: `{st['index_dir']}`", f"- 감사 기록: `{st['audit_log']}`"] if st["index_dir"] else []
    out += [f"- 외부 서비스: {', '.join(st['external_services']) or '없음'}", f"- {st['note']}", ""]
    return "\n".join(out)
