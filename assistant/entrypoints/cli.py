"""`assistant` command line (DESIGN.md): results on stdout (`--json` for scripts), progress and logs on stderr."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from ..errors import AssistantError, BadQuestion
from ..settings import Settings
from . import log as logsetup
from .cli_governance import add_commands as add_governance_commands
from .cli_index import add_commands as add_index_commands
from .cli_learning import add_commands as add_learning_commands
from .cli_welfare import add_commands as add_welfare_commands
from .payloads import hit_json

EXAMPLES = {
    "ingest": "assistant ingest corpora/ --index index/",
    "retrieve": 'assistant retrieve "기초연금은 몇 살부터 받나요?" --k 5',
    "ask": 'assistant ask "기초연금은 몇 살부터 받나요?" --mode kiosk',
    "article": 'assistant article "아동수당법 제4조" --json',
    "chat": "printf '기초연금은 몇 살부터 받나요?\\n신청은 어디서 하나요?\\n' | assistant chat --json",
    "eval": "assistant eval ../shared/eval/public/qa.jsonl --no-generate --json",
    "info": "assistant info --json",
    "bench": "assistant bench --sizes 10000,100000 --json",
    "serve": "assistant serve --port 8501",
    "api": "assistant api --port 8000  (키: python -m assistant.keys new --role staff)",
}


def emit(args, data, human: str) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(human)


def cmd_ingest(args, assistant) -> int:
    from tqdm import tqdm

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="임베딩", unit="청크", unit_scale=False, file=sys.stderr, disable=args.quiet,
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} 청크 [{elapsed}<{remaining}, "
                                  "{rate_fmt}]")
        bar.update(done - bar.n)

    report = assistant.ingest(args.paths or None, keep_missing=args.keep_missing, dry_run=args.dry_run,
                              progress=progress, rebuild=args.rebuild)
    if bar:
        bar.close()
    data = report.to_json()
    plan = "계획 (쓰지 않음): " if args.dry_run else ""
    lines = [f"{plan}추가 {data['added']} · 변경 {data['updated']} · 삭제 {data['removed']} · 이름 변경 "
             f"{data['renamed']} · 변경 없음 {data['unchanged']} · 청크 {data['chunks']} (새로 임베딩 "
             f"{data['embedded']}) · {data['seconds']}초"]
    docs = data["documents"]
    lines += [f"  + {s}" for s in docs["added"]] + [f"  - {s}" for s in docs["removed"]]
    lines += [f"  ~ {s}: {', '.join(data['changes'].get(s, [])) or '내용 변경'}" for s in docs["updated"]]
    lines += [f"  → {r['from']} ⇒ {r['to']}" for r in docs["renamed"]]
    lines += [f"  실패: {f['error']}" for f in data["failed"]]
    emit(args, data, "\n".join(lines))
    ingested = data["added"] + data["updated"] + data["unchanged"]
    return 1 if ingested == 0 and not args.dry_run else 0


def cmd_retrieve(args, assistant) -> int:
    from ..answering.retrieve import Filters

    hits = assistant.retrieve(args.question, args.k, args.retriever, Filters(doc_types=tuple(args.doc_type or ())))
    human = "\n".join(f"{i + 1}. [{h.chunk.title} {h.chunk.anchor}] ({h.score:.4f}) {h.chunk.text[:120]}"
                      for i, h in enumerate(hits)) or "검색 결과가 없습니다."
    emit(args, {"hits": [hit_json(h) for h in hits]}, human)
    return 0


def cmd_ask(args, assistant) -> int:
    stream = assistant.ask_stream(args.question, args.mode)
    for piece in stream:
        if not args.json:
            sys.stdout.write(piece)
            sys.stdout.flush()
    answer = stream.result
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print_sources(answer)
        print_candidates(answer, numbered=False)
    return 0


def print_sources(answer) -> None:
    """After a streamed answer on a terminal: where its citations are, or whom to ask."""
    if answer.citations:
        print("\n출처:")
    for line in dict.fromkeys(f"  {s.label} {s.citation.source}" + (f", {s.citation.page}쪽" if s.citation.page else "")
                              for s in answer.sources):
        print(line)
    if answer.referral:
        print(f"\n문의: {answer.referral['department']}")


def print_candidates(answer, numbered: bool) -> None:
    """Several documents answer a question that names none: list them (numbered where the next line may pick one)."""
    if not answer.candidates:
        return
    how = "번호를 입력하면 그 문서로 다시 묻습니다." if numbered else "문서를 넣어 다시 물어보세요:"
    print(f"\n어느 문서를 말씀하시나요? {how}")
    for i, c in enumerate(answer.candidates, 1):
        print(f"  {i}. {c.title}" if numbered else f"  - {c.title}: {c.question}")


def cmd_article(args, assistant) -> int:
    from ..answering.chain import RELATION_WORDS

    found = assistant.article(args.ref)
    lines = [f"「{found['title']}」 {found['anchor']} ({found['level']})", found["text"]]
    if found["links"]:
        lines.append("\n연결된 조문:")
        lines += [f"  {RELATION_WORDS[x['relation']]}: 「{x['title']}」 {x['anchor']} — {x['sentence']}"
                  for x in found["links"]]
    emit(args, found, "\n".join(lines))
    return 0


def cmd_chat(args, assistant) -> int:
    """A conversation: a prompt on a terminal, one question per line when piped; an empty line starts afresh. After
    an answer with candidates, a line with one of their numbers (or names) asks that candidate's question: the
    conversation itself reads such a reply (`Conversation.picked`)."""
    conversation = assistant.conversation()
    interactive = sys.stdin.isatty()
    if interactive:
        print("질문을 입력하세요. 빈 줄은 새 대화, Ctrl-D는 끝.", file=sys.stderr)
    while True:
        try:
            line = input("질문> " if interactive else "")
        except EOFError:
            return 0
        if not line.strip():
            conversation.reset()
            print("— 새 대화를 시작합니다 —", file=sys.stderr)
            continue
        try:
            stream = assistant.ask_stream(line, args.mode, conversation=conversation)
            for piece in stream:
                if not args.json:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
        except BadQuestion as exc:
            print(json.dumps({"question": line, "error": str(exc)}, ensure_ascii=False) if args.json else f"오류: {exc}",
                  flush=True)
            continue
        answer = stream.result
        if interactive and answer.question != line.strip():
            print(f"→ {answer.question}", file=sys.stderr)  # a reply that picked a candidate
        if args.json:
            print(json.dumps({"question": answer.question, **answer.to_json(), "context": answer.context},
                             ensure_ascii=False), flush=True)
        else:
            print_sources(answer)
            print_candidates(answer, numbered=True)
            print(flush=True)


def cmd_eval(args, assistant) -> int:
    from ..evaluation.evaluate import run_eval

    result = run_eval(assistant, Path(args.qa), k=args.k, generate=not args.no_generate, out=args.out,
                      hold_out_docs=args.hold_out_docs, seed=args.seed, conversations=args.conversations)
    emit(args, result, json.dumps({k: v for k, v in result.items() if k not in ("per_question", "answers")},
                                  ensure_ascii=False, indent=2))
    return 0


def cmd_bench(args, assistant) -> int:
    if args.api:
        from ..evaluation.load import bench_api

        result = bench_api(args.api, args.key, args.qa, args.concurrency or 20, args.seconds, args.admin_key,
                           args.reingest_at)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        emit(args, result, json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    from ..evaluation.bench import run_bench

    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    out = args.out or Path("bench-results") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    result = run_bench(assistant, sizes, generate=not args.no_generate, corpus=args.corpus, out=out,
                       concurrency=args.concurrency)
    human = json.dumps({k: v for k, v in result.items() if k not in ("ingest", "retrieve_ms")}, ensure_ascii=False,
                       indent=2)
    emit(args, result, f"{human}\n결과: {out} (그래프 {Path(out).with_suffix('.png')})")
    return 0


def cmd_api(args, assistant) -> int:
    """Serves the HTTP API with uvicorn; with --workers N each worker builds its own app from the environment."""
    import os

    import uvicorn

    os.environ["ASSISTANT_INDEX_DIR"] = str(assistant.settings.index_dir)
    if args.config:
        os.environ["ASSISTANT_CONFIG"] = str(args.config)
    if args.workers > 1:
        uvicorn.run("assistant.entrypoints.api:app_from_env", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level="warning")
    else:
        from .api import create_app

        uvicorn.run(create_app(assistant.settings, assistant), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_info(args, assistant) -> int:
    info = assistant.info()
    emit(args, info, json.dumps(info, ensure_ascii=False, indent=2))
    return 0


def cmd_serve(args, assistant) -> int:
    import os

    app = Path(__file__).resolve().parents[2] / "ui" / "app.py"
    env = dict(os.environ, ASSISTANT_INDEX_DIR=str(assistant.settings.index_dir))
    if args.config:
        env["ASSISTANT_CONFIG"] = str(args.config)
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.address", args.address,
           "--client.toolbarMode", "minimal"]  # no "Deploy" button or developer menu on the staff and kiosk pages
    if args.kiosk:
        env["ASSISTANT_UI_MODE"] = "kiosk"
    os.execvpe(cmd[0], cmd, env)  # become the server: stopping `assistant serve` stops Streamlit too


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", type=Path, help="색인 폴더 (기본: 설정의 index_dir, ASSISTANT_INDEX_DIR)")
    common.add_argument("--config", type=Path, help="설정 파일 (TOML, 기본 assistant.toml)")
    common.add_argument("--json", action="store_true", help="결과를 JSON으로 stdout에 출력")
    common.add_argument("--quiet", action="store_true", help="진행 표시줄을 숨김")
    common.add_argument("--verbose", action="store_true", help="오류의 자세한 내용(traceback)을 로그(stderr)에 남김")
    parser = argparse.ArgumentParser(prog="assistant", description="지자체 문서 기반 행정 도우미 (오프라인)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, help_text, func):
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                           epilog=f"예: {EXAMPLES[name]}")
        p.set_defaults(func=func)
        return p

    p = add("ingest", "문서를 색인에 넣거나 다시 넣습니다 (기본: corpora/)", cmd_ingest)
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--keep-missing", action="store_true", help="폴더에서 사라진 문서를 색인에서 지우지 않음")
    p.add_argument("--dry-run", action="store_true", help="쓰지 않고 계획만 보여 줌")
    p.add_argument("--rebuild", action="store_true",
                   help="현재 세대를 읽지 않고 원본 문서에서 새 세대를 만듦 (손상된 색인의 복구; 임베딩 캐시가 온전하면 재사용)")
    p = add("retrieve", "검색만 합니다 (모델 답변 없음)", cmd_retrieve)
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--retriever", choices=("hybrid", "dense", "keyword"), default="hybrid")
    p.add_argument("--doc-type", action="append", help="문서 종류로 거르기 (여러 번 가능)")
    p = add("ask", "질문에 근거 조문을 인용해 답합니다", cmd_ask)
    p.add_argument("question")
    p.add_argument("--mode", choices=("staff", "kiosk"), default="staff")
    p = add("article", "조문과 그 위임·근거 관계(법률·시행령·시행규칙·조례)를 보여 줍니다", cmd_article)
    p.add_argument("ref", help='법령 이름과 조 번호, 예: "아동수당법 제4조"')
    p = add("chat", "이어지는 질문에 답합니다 (빈 줄은 새 대화)", cmd_chat)
    p.add_argument("--mode", choices=("staff", "kiosk"), default="staff")
    p = add("eval", "질의응답 세트로 품질을 잽니다", cmd_eval)
    p.add_argument("qa")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--no-generate", action="store_true", help="검색 품질만 잼")
    p.add_argument("--out", type=Path, help="결과 JSON 파일 (옆에 PNG 그래프도 씀)")
    p.add_argument("--hold-out-docs", type=int, default=0, metavar="N",
                   help="문서 N개를 검색에서 숨기고 그 질문을 답할 수 없는 질문으로 셈 (재수집 없음)")
    p.add_argument("--seed", type=int, default=0, help="--hold-out-docs로 숨길 문서를 고르는 난수 시드")
    p.add_argument("--conversations", type=Path, help="대화 세트(JSONL): 이어지는 질문의 정확도를 대화 맥락 유무로 잼")
    p = add("bench", "속도·메모리를 재고 llama-index 기본 파이프라인과 비교합니다", cmd_bench)
    p.add_argument("--sizes", default="10000,100000,1000000", help="합성 말뭉치 크기(청크 수), 쉼표로 구분")
    p.add_argument("--no-generate", action="store_true", help="답변 생성 시간은 재지 않음")
    p.add_argument("--corpus", type=Path, help="수집 속도를 잴 문서 폴더 (기본: 설정의 corpus_dir)")
    p.add_argument("--out", type=Path, help="결과 JSON 파일 (옆에 PNG 그래프)")
    p.add_argument("--concurrency", type=int, default=0,
                   help="생성형 답변 서버(openai/vLLM 풀)에 동시에 보낼 요청 수; 0이면 재지 않음 (--api: 동시 클라이언트 수, 기본 20)")
    p.add_argument("--api", metavar="URL", help="실행 중인 HTTP API(assistant api)에 부하를 걸어 잼")
    p.add_argument("--key", default="", help="--api: 질문에 쓸 API 키")
    p.add_argument("--qa", type=Path, default=Path("corpora/qa.jsonl"), help="--api: 질문 세트(JSONL)")
    p.add_argument("--seconds", type=float, default=120.0, help="--api: 부하 시간(초)")
    p.add_argument("--admin-key", default="", help="--api: 중간에 재수집을 게시할 관리자 키")
    p.add_argument("--reingest-at", type=float, help="--api: 재수집을 시작할 시각(초)")
    p = add("api", "다른 시스템을 위한 HTTP API를 엽니다 (FastAPI)", cmd_api)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    add("info", "색인·모델·장치 정보를 보여 줍니다", cmd_info)
    p = add("serve", "Streamlit 화면을 띄웁니다", cmd_serve)
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--kiosk", action="store_true", help="민원 안내 키오스크 화면으로 시작")
    add_governance_commands(sub, common)
    add_index_commands(sub, common)
    add_welfare_commands(sub, common)
    add_learning_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    try:
        settings = Settings.load(args.config, index_dir=args.index)
        logsetup.configure("DEBUG" if verbose else settings.log_level)
        from ..facade import Assistant

        return args.func(args, Assistant(settings))
    except AssistantError as exc:
        if verbose:
            logging.getLogger(__name__).error("command.failed", exc_info=exc)
        print(f"오류: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user: one line, the rest with --verbose
        if verbose:
            logging.getLogger(__name__).error("command.crashed", exc_info=exc)
        print(f"오류: 예상하지 못한 문제로 명령을 끝내지 못했습니다 ({type(exc).__name__}: {str(exc)[:300]}). "
              f"--verbose로 다시 실행하면 자세한 내용이 로그에 남습니다.", file=sys.stderr)
        return 3
