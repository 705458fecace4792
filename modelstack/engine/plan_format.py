"""Plan output: text like `pulumi preview --diff`, JSON for machines, Markdown for pull requests."""

from __future__ import annotations

import json
from typing import Any

from modelstack.engine.diff import SYMBOLS, Action, Plan, Step

_MAX_VALUE = 80


def _short(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _name(step: Step) -> str:
    return step.key.removesuffix(".yaml")


def _header(step: Step) -> str:
    line = f"{SYMBOLS[step.action]:>2} {step.action.value:<8} {_name(step)}"
    if step.replace_reasons:
        line += f"  (immutable: {', '.join(step.replace_reasons)})"
    return line


def as_text(plan: Plan, title: str) -> str:
    lines = [title, ""]
    for step in plan.steps:
        lines.append(_header(step))
        for change in step.changes:
            lines.append(f"       {change.path}: {_short(change.before)} → {_short(change.after)}")
    if not plan.steps:
        lines.append("   no changes")
    lines += ["", plan.summary]
    return "\n".join(lines)


def as_json(plan: Plan) -> str:
    return json.dumps(
        {
            "steps": [
                {
                    "action": s.action.value,
                    "object": _name(s),
                    "kind": s.kind,
                    "replaceReasons": list(s.replace_reasons),
                    "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in s.changes],
                }
                for s in plan.steps
            ],
            "summary": {**{a.value: plan.count(a) for a in Action}, "unchanged": plan.unchanged},
        },
        sort_keys=True,
        indent=2,
    )


def as_markdown(plan: Plan, title: str) -> str:
    lines = [f"### {title}", "", f"**{plan.summary}**", ""]
    if not plan.steps:
        return "\n".join([*lines, "No changes."])
    lines += ["| | object | changes |", "|---|---|---|"]
    for step in plan.steps:
        changes = "<br>".join(
            f"`{c.path}`: `{_short(c.before)}` → `{_short(c.after)}`".replace("|", "\\|")
            for c in step.changes
        )
        if step.replace_reasons:
            changes = f"**replace** ({', '.join(step.replace_reasons)})<br>" + changes
        lines.append(f"| {SYMBOLS[step.action]} {step.action.value} | `{_name(step)}` | {changes} |")
    return "\n".join(lines)
