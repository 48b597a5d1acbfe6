"""`assistant eval --conversations FILE`: follow-up accuracy of multi-turn conversations, with and without the
conversation's context. A line of FILE is {"id", "turns": [{"question", "doc", "anchor"}, …]}; `doc` null means the
documents do not answer that turn and a refusal is expected."""
from __future__ import annotations

import json
from pathlib import Path

from ..answering.conversation import Conversation
from .hits import is_hit


def right(answer, turn: dict) -> bool:
    """A refusal where the documents do not answer; otherwise the first citation in the expected article/service."""
    if not turn.get("doc"):
        return answer.refused
    top = answer.citations[0] if answer.citations else None
    return not answer.refused and top is not None and is_hit(top.source, top.anchor, turn["doc"], turn.get("anchor"))


def rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def run_conversations(assistant, path: Path) -> dict:
    assistant = assistant.clone(audit_enabled=False)
    conversations = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]
    first, follow, follow_alone, pulled, switches, rows = [], [], [], [], 0, []
    for conv in conversations:
        conversation = Conversation()
        previous_doc = None
        for n, turn in enumerate(conv["turns"]):
            answer = assistant.ask(turn["question"], conversation=conversation)
            ok = right(answer, turn)
            top = answer.citations[0].source if answer.citations else None
            if n == 0:
                first.append(ok)
            else:
                follow.append(ok)
                follow_alone.append(right(assistant.ask(turn["question"]), turn))
                if turn.get("doc") != previous_doc:  # a topic switch (or an out-of-corpus question)
                    switches += 1
                    pulled.append(bool(previous_doc and top and top.endswith(previous_doc)))
            rows.append({"id": conv["id"], "turn": n + 1, "question": turn["question"], "right": ok,
                         "refused": answer.refused, "context": answer.context,
                         "top": f"{answer.citations[0].title} {answer.citations[0].anchor}" if answer.citations else None})
            previous_doc = turn.get("doc")
    return {"conversations": len(conversations), "first_turn_accuracy": rate(first),
            "follow_up_accuracy": rate(follow), "follow_up_accuracy_without_context": rate(follow_alone),
            "follow_ups": len(follow), "topic_switches": switches,
            "switches_answered_from_previous_subject": sum(pulled), "turns": rows}
