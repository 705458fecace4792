"""Plan output: text like `pulumi preview --diff`, JSON for machines, Markdown for pull-request comments.

Every format shows every change in full: scalars as `before → after`, long strings (PromQL, JSON, config
files) as a word- or line-level diff of the part that changed (modelstack.engine.text_diff), and per model the
traffic split (`llm-chat: v1 90 → 80, v2 10 → 20`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from modelstack.engine.diff import SYMBOLS, Action, Change, Plan, Status, Step
from modelstack.engine.text_diff import is_long, line_diff, string_diff

STACK_WIDE = "stack-wide objects"


ABSENT = "(absent)"


def value_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "), default=str)


def string_change(change: Change) -> list[str] | None:
    """The diff lines of a change to a long string, or None when before → after reads better."""
    before, after = change.before, change.after
    if not (is_long(before) or is_long(after)):
        return None
    if isinstance(before, str) and isinstance(after, str):
        return string_diff(before, after)
    multiline = any(isinstance(v, str) and "\n" in v for v in (before, after))
    if multiline and all(v is None or isinstance(v, str) for v in (before, after)):
        return line_diff(before or "", after or "")
    return None


def change_lines(change: Change) -> list[str]:
    diff = string_change(change)
    if diff is None:
        before = ABSENT if change.status is Status.ADDED else value_text(change.before)
        after = ABSENT if change.status is Status.REMOVED else value_text(change.after)
        return [f"{change.path}: {before} → {after}"]
    if len(diff) == 1:
        return [f"{change.path}: {diff[0]}"]
    return [f"{change.path}:", *(f"    {line}" for line in diff)]


def _name(step: Step) -> str:
    return step.key.removesuffix(".yaml")


def _header(step: Step) -> str:
    line = f"{SYMBOLS[step.action]:>2} {step.action.value:<8} {_name(step)}"
    if step.replace_reasons:
        line += f"  (immutable: {', '.join(step.replace_reasons)})"
    return line


def step_lines(step: Step, indent: str = "       ") -> list[str]:
    return [_header(step), *(f"{indent}{line}" for change in step.changes for line in change_lines(change))]


def as_text(plan: Plan, title: str) -> str:
    lines = [title, ""]
    if plan.models:
        lines += ["Models:", *(f"  {m.line}" for m in plan.models), ""]
    for step in plan.steps:
        lines += step_lines(step)
    if not plan.steps:
        lines.append("   no changes")
    lines += ["", plan.summary]
    return "\n".join(lines)


def _change_json(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": change.path,
        "status": change.status.value,
        "before": change.before,
        "after": change.after,
    }
    diff = string_change(change)
    if diff is not None:
        out["diff"] = diff
    return out


def as_json(plan: Plan, warnings: Sequence[str] = ()) -> str:
    return json.dumps(
        {
            "models": [
                {
                    "model": m.model,
                    "weightsBefore": dict(m.before) if m.before is not None else None,
                    "weightsAfter": dict(m.after) if m.after is not None else None,
                    "traffic": m.traffic,
                }
                for m in plan.models
            ],
            "steps": [
                {
                    "action": s.action.value,
                    "object": _name(s),
                    "kind": s.kind,
                    "model": s.model,
                    "replaceReasons": list(s.replace_reasons),
                    "changes": [_change_json(c) for c in s.changes],
                }
                for s in plan.steps
            ],
            "summary": {**{a.value: plan.count(a) for a in Action}, "unchanged": plan.unchanged},
            "warnings": list(warnings),
        },
        sort_keys=True,
        indent=2,
        ensure_ascii=False,
    )


# --- Markdown --------------------------------------------------------------------------------------------


def _fenced(lines: Iterable[str], language: str = "") -> list[str]:
    """A code block whose fence is longer than any run of backticks inside it (values may hold some)."""
    body = list(lines)
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *body, fence]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _counts(steps: Sequence[Step]) -> list[str]:
    return [str(sum(1 for s in steps if s.action is a)) for a in Action]


def problems_markdown(heading: str, problems: Sequence[str]) -> list[str]:
    return ["", heading, "", *_fenced(problems, "text")]


def warnings_markdown(warnings: Sequence[str]) -> list[str]:
    if not warnings:
        return []
    return ["", f"**:warning: {len(warnings)} warning(s)**", "", *(f"- {_cell(w)}" for w in warnings)]


def as_markdown(plan: Plan, title: str, *, warnings: Sequence[str] = (), findings: Sequence[str] = ()) -> str:
    """The pull-request comment: a table per model, the refused release changes, warnings, every change."""
    lines = [f"### {title}", "", f"**{plan.summary}**"]
    if findings:
        lines += problems_markdown(
            f"**:x: {len(findings)} released version(s) would change — the check fails.** A released "
            "version never changes; release the change under a new version name:",
            findings,
        )
    lines += warnings_markdown(warnings)
    groups: list[tuple[str, str, list[Step]]] = [
        (f"`{m.model}`", m.traffic, plan.steps_of(m.model)) for m in plan.models
    ]
    listed = {m.model for m in plan.models}
    orphans = sorted({s.model for s in plan.steps if s.model is not None and s.model not in listed})
    groups += [(f"`{name}`", "", plan.steps_of(name)) for name in orphans]
    if plan.steps_of(None):
        groups.append((STACK_WIDE, "", plan.steps_of(None)))
    if not plan.steps and not plan.models:
        return "\n".join([*lines, "", "No changes."])
    header = "| model | traffic | " + " | ".join(a.value for a in Action) + " |"
    lines += ["", header, "|---|---|" + "---:|" * len(Action)]
    for name, traffic, steps in groups:
        lines.append(f"| {name} | {_cell(traffic)} | " + " | ".join(_counts(steps)) + " |")
    lines.append(f"| **all** | {plan.unchanged} unchanged | " + " | ".join(_counts(plan.steps)) + " |")
    for name, traffic, steps in groups:
        if not steps:
            continue
        lines += ["", f"#### {name}" + (f" — {_cell(traffic)}" if traffic else ""), ""]
        lines += _fenced((line for step in steps for line in step_lines(step, "    ")), "diff")
    return "\n".join(lines)


def invalid_markdown(title: str, problems: Sequence[str], error_count: int) -> str:
    """The comment for a catalog that does not load: every located problem, and no plan."""
    heading = (
        f"**:x: The catalog is invalid: {error_count} error(s); nothing was rendered.** "
        "Fix these and push again:"
    )
    return "\n".join([f"### {title}", *problems_markdown(heading, problems)])


def failed_markdown(title: str, message: str) -> str:
    return "\n".join([f"### {title}", "", "**:x: The preview failed.**", "", *_fenced([message], "text")])
