"""All UI text in one catalogue: Korean first, English second."""
from __future__ import annotations

MESSAGES = {
    "ko": {
        "app_title": "가온시 행정 도우미",
        "caption": "모든 답변은 이 서버 안의 문서에서만 찾아 근거 조문과 함께 보여 줍니다. 외부로 나가는 데이터는 없습니다.",
        "ask_placeholder": "질문을 입력하세요 (예: 기초연금은 몇 살부터 받나요?)",
        "sources": "근거 문서",
        "page": "{page}쪽",
        "refused": "문서에서 답을 찾지 못했습니다",
        "error": "질문을 처리하지 못했습니다: {error}",
        "no_index": "색인이 아직 없습니다. 관리자에게 문서 색인을 요청해 주세요.",
        "timings": "검색 {retrieve}ms · 첫 글자 {first_token}ms · 전체 {total}ms · 답변 방식 {model}",
        "language": "언어",
    },
    "en": {
        "app_title": "Gaon City Administrative Assistant",
        "caption": "Answers come only from documents on this server, with the article they rely on. No data leaves it.",
        "ask_placeholder": "Ask a question (e.g. 기초연금은 몇 살부터 받나요?)",
        "sources": "Sources",
        "page": "p. {page}",
        "refused": "No answer found in the documents",
        "error": "The question could not be processed: {error}",
        "no_index": "There is no index yet. Please ask an administrator to ingest the documents.",
        "timings": "retrieval {retrieve} ms · first token {first_token} ms · total {total} ms · backend {model}",
        "language": "Language",
    },
}


def t(key: str, lang: str = "ko", **values) -> str:
    text = MESSAGES.get(lang, MESSAGES["ko"]).get(key) or MESSAGES["ko"][key]
    return text.format(**values) if values else text
