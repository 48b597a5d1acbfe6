"""Korean keyword search: Kiwi morphemes, BM25 scored with vectorised numpy over a persisted inverted index."""
from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import numpy as np

# Content morphemes: nouns, numbers, foreign words, roots, verb and adjective stems.
KEEP_TAGS = {"NNG", "NNP", "NNB", "NR", "SN", "SL", "SH", "XR", "VV", "VA", "XSN"}
STOP = {"것", "수", "등", "때", "및", "하", "되", "있", "없", "이", "그", "위", "경우", "해당", "관하", "따르", "대하"}
ARTICLE_REF = re.compile(r"제\s*(\d+)\s*조(?:\s*의\s*(\d+))?")
TOKENIZER_VERSION = "kiwi-bm25-2"
# Words of asking, not of the subject: they never count as evidence that a text answers a question.
QUESTION_WORDS = {"무엇", "어떻다", "어디", "언제", "얼마", "누구", "알다", "되다", "하다", "받다", "있다", "궁금", "나요",
                  "경우", "어떤", "몇", "가능", "방법", "말다", "주다", "싶다", "돼다", "이다", "필요"}


# Everyday words -> the words statutes use for the same thing: people ask about "해외" and "퇴사", the law says
# "국외" and "이직". Keys are Kiwi tokens (nouns, verb lemmas), so "집" never fires inside "집행". General
# administrative Korean, added to the keyword query only (the embedder sees the question as asked). A few entries
# were prompted by public-set questions, so its measured gain there is optimistic.
STATUTE_WORDS = {
    "해외": "국외", "외국": "국외", "나이": "연령", "어르신": "노인", "아이": "아동", "아기": "아동", "자녀": "아동",
    "월급": "보수", "이사": "전입 이전", "월세": "임차료", "전세": "임차", "퇴사": "이직 퇴직", "그만두다": "이직 퇴직",
    "실업급여": "구직급여", "벌금": "과태료 벌칙", "돌아가다": "사망", "결혼": "혼인", "재혼": "혼인",
    "병원비": "의료비", "끊기다": "정지 상실", "불만": "이의신청", "불복": "이의신청", "구청": "구청장",
    "시청": "시장", "군청": "군수", "cctv": "영상정보처리기기", "쓰레기": "폐기물", "알리다": "통지", "늦다": "지연",
    "돌려주다": "반환 환수", "집": "주택 주거", "처벌": "벌칙 징역 벌금",
    "산소": "분묘 묘지", "무덤": "분묘 묘지", "묘": "분묘 묘지",
}


def statute_words(tokens: list[str]) -> str:
    """The statutes' words for the everyday ones among a question's tokens: ["해외", "연금"] -> "국외"."""
    return " ".join(dict.fromkeys(STATUTE_WORDS[t] for t in tokens if t in STATUTE_WORDS))


# "얼마" asks for an amount; "얼마 만에 / 얼마 동안" for a time, "얼마나" with a word of time or frequency
# ("얼마나 걸리나요", "얼마나 자주", "얼마나 오래") how long or how often, and "얼마 (이상) 살아야 / 거주해야 / 근무해야"
# how long one must have lived or worked somewhere: none of them how much
STAYING = r"(?:이상\s*)?(?:거주|살아|살았|근무|재직|체류|가입|다녀|일해)"
HOW_MUCH = (r"얼마(?!\s*(?:만에|안에|동안|간|뒤|후|전|이내|나\s*(?:걸리|걸려|걸릴|자주|오래|동안|기다|지나|빨리|일찍|늦)|"
            rf"(?:나\s*)?{STAYING}))")

# (what the question asks for, how a document states it)
ANSWER_TYPES = [(re.compile(cue), re.compile(answer)) for cue, answer in (
    (r"며칠|몇\s*일|기한|언제까지", r"\d+\s*일|지체\s*없이|즉시"),
    (r"몇\s*(살|세)|나이", r"\d+\s*세"),
    # a unit asked by name is the unit of the answer: "몇 개월부터" is answered in 개월 ("월령 2개월 이상"), not by a
    # "30일 이내" beside it
    (r"몇\s*(개월|달)", r"\d+\s*개월"),
    (r"몇\s*년", r"\d+\s*(?:년|개월)"),
    (r"몇\s*시간", r"\d+\s*시간"),
    # "얼마 안에", "얼마 동안", "얼마나 살아야": a period
    (rf"기간|얼마\s*(?:동안|안에|이내|만에)|얼마\s*(?:나\s*)?{STAYING}", r"\d+\s*(개월|년|일)"),
    # how often ("얼마나 자주", "주기", "몇 년마다", "몇 년에 한 번"): "매년", "3년마다", "연 2회", "분기별"
    (r"얼마나\s*자주|주기|몇\s*(?:년|달|개월|주)\s*(?:마다|에\s*한\s*번)",
     r"매\s*(?:년|월|분기|반기|주|일)|\d+\s*(?:년|개월|월|주|일)\s*마다|\d+\s*(?:년|개월)에\s*\d+\s*회|[연월]\s*\d+\s*회|[분반]기별"),
    (HOW_MUCH + r"|금액|비용", r"\d[\d,]*\s*(?:[억천백]\s*)?(?:만\s*)?원|100분의|퍼센트|%"),  # 3천원, 5천만원, 1억원
    # "얼마나 들어가야": how large a part, which a statute may give as a share ("3분의 1 이상"); not "얼마를 지급"
    (rf"(?={HOW_MUCH})얼마나", r"\d+\s*분의\s*\d+"),
    # a share ("몇 퍼센트", "몇 %", "비율") is written as a fraction in statutes: "100분의 4", "10분의 3", "2분의 1"
    (r"몇\s*(?:퍼센트|%|프로)|비율", r"\d+\s*분의\s*\d+|\d+(?:\.\d+)?\s*(?:퍼센트|%)"),
    # "1천명", "300명": a count of people may be written with 천/만
    (r"몇\s*(명|번|회|인)", r"\d+\s*(?:[천만]\s*)?(명|인|회|번)|분의"),
    # "어느 정도 규모인가요": a size, counted in people ("상시 300명 이상"), floor area or money
    (r"규모", r"\d[\d,]*\s*(?:[천만억]\s*)?(?:명|인|원)|\d[\d,]*\s*(?:제곱미터|㎡)"),
)]


# "언제까지 받을 수 있나요", "언제까지 유지되나요" ask until when a benefit lasts ("완치될 때까지", "12개월 내", "다음 월까지"),
# not a deadline to act ("지체 없이"); "통지는 언제까지 받나요" still asks for a deadline
UNTIL_RECEIVED = re.compile(r"언제까지\s*(?:[가-힣]+\s+)?(?:받|유지|지원|지급|계속|나오|나와)")
NOTICE = re.compile(r"통지|통보|안내|알려|연락|결정|회신")
LASTS_UNTIL = re.compile(r"\d+\s*(?:개월|년|일)|(?:때|월|날|해|연도)\s*까지")


# "몇 실", "몇 층", "몇 가구", "몇 곳": a count asked in a unit of its own is stated in that unit ("30실 이상")
COUNTED = re.compile(r"몇\s*(실|층|가구|세대|대|석|곳|개|건|장|권|필지)"
                     r"(?=[\s?.!,]|$|[이가을를은는의에도만]|까지|부터|으로|로|짜리|씩|정도|이상|이하|이내|미만)")


@functools.lru_cache(maxsize=256)
def answer_patterns(question: str) -> tuple[re.Pattern, ...]:
    r"""How the documents state what the question asks for ("며칠" -> r"\d+\s*일"); () for other questions. Cached:
    retrieval, evidence (for every quoted line) and the answer ask it of the same question."""
    if UNTIL_RECEIVED.search(question) and not NOTICE.search(question):
        rest = question.replace("언제까지", "")
        return (LASTS_UNTIL,) + tuple(answer for cue, answer in ANSWER_TYPES if cue.search(rest))
    counted = tuple(re.compile(rf"\d[\d,]*\s*(?:[천만]\s*)?{re.escape(unit)}"
                               r"(?=[\s(,.)]|$|[이가을를은는의에도만]|까지|부터|으로|로|씩|이상|이하|이내|미만|당)")
                    for unit in dict.fromkeys(COUNTED.findall(question)))
    return tuple(answer for cue, answer in ANSWER_TYPES if cue.search(question)) + counted


def share(terms: dict[str, float], words: set[str]) -> float:
    """The share of the idf-weighted question terms found among `words`."""
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in words) / total if total else 0.0


def written_share(terms: dict[str, float], text: str) -> float:
    """`share` of the question terms found in `text` as written: no tokenizer call (query path, line by line)."""
    return share(terms, {t for t in terms if t in text})


class KoreanTokenizer:
    """Kiwi morphological analysis: '기초연금을', '기초연금은' -> the same tokens."""

    def __init__(self):
        from kiwipiepy import Kiwi

        self._kiwi = Kiwi()

    def _tokens(self, analysed, compounds: bool = True) -> list[str]:
        out: list[str] = []
        prev_noun = None
        for tok in analysed:
            tag = tok.tag.split("-")[0]
            form = tok.form.lower()
            if tag not in KEEP_TAGS or form in STOP:
                prev_noun = None
                continue
            if tag in ("VV", "VA"):
                form += "다"
            out.append(form)
            # compound nouns are written with and without spaces: keep the joined form too
            if compounds and tag in ("NNG", "NNP") and prev_noun:
                out.append(prev_noun + form)
            prev_noun = form if tag in ("NNG", "NNP") else None
        return out

    def noun_phrases(self, text: str) -> list[tuple[str, list[str]]]:
        """Nouns written together ("노인장기요양", "공영주차장", "CCTV") as they stand in the text, each with its
        content tokens: the names a question uses."""
        out: list[tuple[str, list[str]]] = []
        start = end = -1
        tokens: list[str] = []
        for tok in self._kiwi.tokenize(text):
            noun = tok.tag.split("-")[0] in ("NNG", "NNP", "SL", "SH", "XR") and tok.form.lower() not in STOP
            if noun and tokens and tok.start == end:
                tokens.append(tok.form.lower())
                end = tok.start + tok.len
                continue
            if tokens:
                out.append((text[start:end], tokens))
            tokens = [tok.form.lower()] if noun else []
            start, end = tok.start, tok.start + tok.len
        if tokens:
            out.append((text[start:end], tokens))
        return [(p, t) for p, t in out if not all(x in QUESTION_WORDS for x in t)]

    @staticmethod
    def _refs(text: str) -> list[str]:
        """`제7조의2` -> `§7-2`, so article numbers match exactly instead of as loose digits."""
        return [f"§{m.group(1)}" + (f"-{m.group(2)}" if m.group(2) else "") for m in ARTICLE_REF.finditer(text)]

    def tokenize(self, text: str, compounds: bool = True) -> list[str]:
        """Content morphemes (+ joined compound nouns when `compounds`) and exact article references."""
        return self._tokens(self._kiwi.tokenize(text), compounds) + self._refs(text)

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        analysed = self._kiwi.tokenize(texts)  # batch mode: Kiwi pipelines the list internally
        return [self._tokens(a) + self._refs(t) for a, t in zip(analysed, texts)]


class BM25Index:
    """Inverted index with precomputed BM25 term weights; a query is a few numpy gathers and one add.at."""

    def __init__(self, vocab: dict[str, int], indptr: np.ndarray, doc_ids: np.ndarray, weights: np.ndarray,
                 idf: np.ndarray, n_docs: int):
        self.vocab, self.indptr, self.doc_ids, self.weights, self.idf, self.n_docs = \
            vocab, indptr, doc_ids, weights, idf, n_docs

    @classmethod
    def build(cls, docs_tokens: list[list[str]], k1: float = 1.2, b: float = 0.75) -> "BM25Index":
        vocab: dict[str, int] = {}
        terms, docs, tfs = [], [], []
        for d, tokens in enumerate(docs_tokens):
            counts: dict[int, int] = {}
            for tok in tokens:
                tid = vocab.setdefault(tok, len(vocab))
                counts[tid] = counts.get(tid, 0) + 1
            terms += counts.keys()
            docs += [d] * len(counts)
            tfs += counts.values()
        lengths = np.array([len(t) for t in docs_tokens], dtype=np.float32)
        return cls.from_postings(vocab, np.array(terms, np.int64), np.array(docs, np.int32),
                                 np.array(tfs, np.float32), lengths, k1, b)

    @classmethod
    def from_postings(cls, vocab: dict[str, int], terms: np.ndarray, docs: np.ndarray, tfs: np.ndarray,
                      lengths: np.ndarray, k1: float = 1.2, b: float = 0.75) -> "BM25Index":
        """Vectorised build from (term, doc, tf) triples; also used to synthesise large benchmark corpora."""
        n = len(lengths)
        order = np.lexsort((docs, terms))
        terms, docs, tfs = terms[order], docs[order], tfs[order]
        df = np.bincount(terms, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths[docs] / max(avg, 1e-6))
        weights = (idf[terms] * tfs * (k1 + 1) / (tfs + norm)).astype(np.float32)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        return cls(vocab, indptr, docs.astype(np.int32), weights, idf, n)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        out = np.zeros(self.n_docs, dtype=np.float32)
        for tok in dict.fromkeys(query_tokens):
            tid = self.vocab.get(tok)
            if tid is None:
                continue
            lo, hi = self.indptr[tid], self.indptr[tid + 1]
            out[self.doc_ids[lo:hi]] += self.weights[lo:hi]  # a term lists each row once: plain fancy add
        return out

    def search(self, query_tokens: list[str], k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = self.scores(query_tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top]

    def question_terms(self, tokenizer: "KoreanTokenizer", question: str) -> dict[str, float]:
        """The question's subject words with their idf; base morphemes only, since the joined compounds of a
        question are often not words at all ("시조례")."""
        terms = [t for t in tokenizer.tokenize(question, compounds=False)
                 if t not in QUESTION_WORDS and not t.startswith("§")]
        return {t: self.idf_of(t) for t in dict.fromkeys(terms)}

    def presence(self, terms: dict[str, float], rows) -> np.ndarray:
        """(terms x rows) booleans: which of the question terms each row contains, read from the postings."""
        rows_a = np.asarray(rows, dtype=np.int32)
        out = np.zeros((len(terms), len(rows_a)), dtype=bool)
        for i, tok in enumerate(terms):
            tid = self.vocab.get(tok)
            if tid is None:
                continue
            postings = self.doc_ids[self.indptr[tid]:self.indptr[tid + 1]]  # sorted by row
            pos = np.searchsorted(postings, rows_a)
            out[i] = (pos < len(postings)) & (postings[np.minimum(pos, len(postings) - 1)] == rows_a)
        return out

    def coverage(self, terms: dict[str, float], rows: list[int]) -> np.ndarray:
        """Share of the idf-weighted question terms each row contains."""
        return self.covered(terms, self.presence(terms, rows))

    @staticmethod
    def covered(terms: dict[str, float], present: np.ndarray) -> np.ndarray:
        """`coverage` from an already read `presence` matrix."""
        total = sum(terms.values())
        if not total:
            return np.zeros(present.shape[1], dtype=np.float32)
        return (np.array(list(terms.values()), dtype=np.float32) @ present) / total

    def idf_of(self, token: str) -> float:
        tid = self.vocab.get(token)
        return float(self.idf[tid]) if tid is not None else math.log1p(self.n_docs + 0.5)

    def save(self, folder: Path) -> None:
        np.savez(folder / "keyword.npz", indptr=self.indptr, doc_ids=self.doc_ids, weights=self.weights,
                 idf=self.idf, n_docs=np.array([self.n_docs]))
        (folder / "keyword_vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

