"""A seeded mutation fuzzer over the catalog and both stack files, run through the real CLI.

`python -m tests.input_safety.fuzz PROJECT RESULTS [--seed N] [--validate N] [--render N] [--start I]`
mutates `PROJECT` (a copy of the repository's project) case by case and writes one JSON line per case to
RESULTS. Every case is derived from the seed alone, so a run is reproducible and a finding can be rerun
by its index. A case is a finding when the command

- raises (a Python traceback), exits with anything but 0 or 2, or runs past `CASE_SECONDS`;
- exits 2 with a stderr line that is not `FILE:LINE:COL: …` (or the closing summary);
- changes any file of the project when it failed (and `validate` changes nothing, ever);
- renders (exit 0) objects that `../shared/tools/validate_manifests.py` rejects (checked by the caller,
  which collects the distinct renders this writes under RESULTS' directory).

A crash of the interpreter itself (a segfault) ends this process mid-case: the caller sees the case that
started and did not finish.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.input_safety.conftest import LOCATED, SUMMARY

CASE_SECONDS = 20
TARGETS = ("models.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml")
STACK_OF = {"models.yaml": None, "Pulumi.dev.yaml": "dev", "Pulumi.prod.yaml": "prod"}

TOKEN = "hf_" + "Q7w" * 12
NASTY_SCALARS: list[Any] = [
    "",
    "\n",
    "x\n",
    "ml-dev\n",
    "ml-dev\r",
    "ｍl-dev",
    "mІ-dev",
    ".",
    "..",
    "..data",
    "../../../../etc/passwd",
    "/proc/self/environ",
    "/dev/zero",
    "a" * 300,
    "A B",
    "latest",
    "sha256:00",
    "registry.example.com/x@sha256:" + "a" * 64,
    "registry.example.com/x@sha256:" + "a" * 64 + "\n",
    "istio-ingress/x\n",
    TOKEN,
    "https://user:pw@example.com/",
    "-1",
    "1e400",
    0,
    -1,
    1,
    7,
    65536,
    2**31,
    2**63,
    10**40,
    0.5,
    1e308,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    [],
    {},
    {"secure": "v1:AAAA"},
    {"secure": 5},
    [[[["deep"]]]],
    {"a": {"b": {"c": None}}},
]
SNIPPETS = [
    "!!set {a, b}",
    "!!python/name:os.system x",
    "!!binary aGVsbG8=",
    "&a [*a]",
    "*undefined",
    "<<: {x: 1}",
    "[" * 80 + "]" * 80,
    "{" * 70 + "}" * 70,
    "\t",
    "---",
    "? [a, b]\n: c",
    '"\\x07"',
    "'unterminated",
    "~",
    ".inf",
    "2024-13-45",
    "0x1F",
    "yes",
    "{secure: v1:AAAA}",
]
RAW = [b"\xff\xfe", b"\x00", b"\x07", b"\xef\xbb\xbf", b"\xc3\x28", b"\r", b"\r\n", "é".encode()]
LAUGHS = "lol0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 8)
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _structural(rng: random.Random, data: Any) -> Any:
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(data) if p]
        if not paths:
            return data
        path = rng.choice(paths)
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = rng.choice(["replace", "replace", "replace", "delete", "rename", "add", "duplicate"])
        if action == "replace":
            parent[last] = copy.deepcopy(rng.choice(NASTY_SCALARS))
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            new = rng.choice([f"{last}x", str(last).upper(), f"{last}\n", rng.choice(NASTY_SCALARS)])
            if isinstance(new, str | int | float | bool) and new not in parent:
                parent[new] = parent.pop(last)
        elif action == "add" and isinstance(parent, dict):
            parent[rng.choice(["extra", "secretFiles", "egress", "subPath", "lockFiles", "labels"])] = (
                copy.deepcopy(rng.choice(NASTY_SCALARS))
            )
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return data


def _mild(rng: random.Random, data: Any) -> Any:
    """One scalar changed to another of its type: inputs that often still render, so the rendered
    objects themselves get checked against the upstream schemas."""
    data = copy.deepcopy(data)
    paths = [p for p in _paths(data) if p]
    rng.shuffle(paths)
    for path in paths:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]]
        if isinstance(value, bool):
            parent[path[-1]] = not value
        elif isinstance(value, int):
            parent[path[-1]] = rng.choice(
                [0, 1, 2, 3, 8, 59, 100, 1000, 65535, 2**31 - 1, value * 2, value - 1]
            )
        elif isinstance(value, float):
            parent[path[-1]] = rng.choice([0.001, 0.5, 1.0, 99.9, value * 10])
        elif isinstance(value, str):
            parent[path[-1]] = rng.choice(
                [
                    value + "-x",
                    value.upper(),
                    value[: max(1, len(value) // 2)],
                    value + "1",
                    value.replace("-", "_"),
                ]
            )
        else:
            continue
        return data
    return data


def _textual(rng: random.Random, text: bytes) -> bytes:
    lines = text.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(lines))
        action = rng.choice(["snippet", "snippet", "raw", "delete", "duplicate", "indent", "truncate"])
        if action == "snippet":
            line = lines[at].decode("utf-8", "replace")
            if ": " in line:
                key = line.split(": ", 1)[0]
                lines[at] = f"{key}: {rng.choice(SNIPPETS)}".encode()
            else:
                lines.insert(at, rng.choice(SNIPPETS).encode())
        elif action == "raw":
            cut = rng.randint(0, len(lines[at]))
            lines[at] = lines[at][:cut] + rng.choice(RAW) + lines[at][cut:]
        elif action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "indent":
            lines[at] = b" " * rng.choice([1, 3, 7]) + lines[at]
        elif action == "truncate":
            lines = lines[: at + 1]
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


def _dump(data: Any) -> bytes:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")
    except (yaml.YAMLError, UnicodeEncodeError):
        return json.dumps(data, default=str).encode()


def generate(seed: int, base: dict[str, bytes], validate: int, render: int) -> list[dict[str, Any]]:
    """The cases of a run: which file, its new bytes, and the command (derived from the seed only)."""
    rng = random.Random(seed)
    parsed = {name: yaml.safe_load(text) for name, text in base.items()}
    cases = []
    for index in range(validate + render):
        target = rng.choice(TARGETS)
        kinds = ["structural", "structural", "textual", "both", "special", "mild"]
        kind = rng.choice(kinds if index < validate else ["mild", "mild", "mild", *kinds])
        if kind == "special":
            special = rng.choice(["laughs", "deep", "big", "empty", "list", "fifo", "zero", "dir"])
            body = {
                "laughs": base[target] + LAUGHS.encode(),
                "deep": base[target] + b"deep: " + b"[" * 5000 + b"]" * 5000 + b"\n",
                "empty": b"",
                "list": b"- a\n- b\n",
            }.get(special, b"")
            entry: dict[str, Any] = {"special": special} if special in ("fifo", "zero", "dir", "big") else {}
        elif kind == "mild":
            body, entry = _dump(_mild(rng, parsed[target])), {}
        elif kind == "structural":
            body, entry = _dump(_structural(rng, parsed[target])), {}
        elif kind == "textual":
            body, entry = _textual(rng, base[target]), {}
        else:
            body, entry = _textual(rng, _dump(_structural(rng, parsed[target]))), {}
        command = "render" if index >= validate else "validate"
        stack = STACK_OF[target] or rng.choice(["dev", "prod"])
        cases.append(
            {"index": index, "target": target, "body": body, "command": command, "stack": stack, **entry}
        )
    return cases


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if path.is_symlink():
            out[relative] = "link:" + str(path.readlink())
        elif path.is_file():
            out[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[relative] = "dir"
        else:
            out[relative] = "special"
    return out


def _tree_digest(root: Path) -> str:
    return hashlib.sha256(json.dumps(_snapshot(root), sort_keys=True).encode()).hexdigest()


class _HangError(BaseException):
    """A BaseException, so neither the CLI's error reporting nor CliRunner swallows it."""


def _alarm(signum: int, frame: Any) -> None:
    raise _HangError


def _place(project: Path, case: dict[str, Any], base: dict[str, bytes]) -> None:
    for name, text in base.items():
        path = project / name
        if path.is_symlink() or path.exists():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        path.write_bytes(text)
    path = project / case["target"]
    path.unlink()
    special = case.get("special")
    if special == "fifo":
        import os

        os.mkfifo(path)
    elif special == "zero":
        path.symlink_to("/dev/zero")
    elif special == "dir":
        path.mkdir()
    elif special == "big":
        with open(path, "wb") as stream:
            stream.write(base[case["target"]])
            stream.write(b"# pad\n" * (17 * 1024 * 1024 // 6))
    else:
        path.write_bytes(case["body"])


def _check(case: dict[str, Any], code: int, stderr: str, failure: str | None) -> list[str]:
    problems = []
    if failure:
        problems.append(failure)
    if code not in (0, 2):
        problems.append(f"exit {code}")
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        unlocated = [line for line in lines if not (LOCATED.match(line) or SUMMARY.match(line))]
        if not lines or unlocated:
            problems.append(f"exit 2 without FILE:LINE:COL: {(unlocated or ['(no output)'])[0][:200]}")
    if "Traceback (most recent call last)" in stderr:
        problems.append("traceback")
    return problems


def run_case(project: Path, case: dict[str, Any], base: dict[str, bytes], renders: Path) -> dict[str, Any]:
    from click.testing import CliRunner

    from modelstack.cli import cli

    _place(project, case, base)
    out = project / "fuzz-out"
    before = _snapshot(project)
    args = [case["command"], "--stack", case["stack"]]
    if case["command"] == "render":
        args += ["--out", str(out)]
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    started = time.monotonic()
    failure = None
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
        code, stderr = result.exit_code, result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            failure = f"raised {type(result.exception).__name__}: {str(result.exception)[:200]}"
    except _HangError:
        code, stderr, failure = -1, "", f"ran past {CASE_SECONDS} s"
    finally:
        signal.alarm(0)
    seconds = time.monotonic() - started
    problems = _check(case, code, stderr, failure)
    rendered = None
    if code == 0 and case["command"] == "render":
        digest = _tree_digest(out)
        rendered = renders / digest[:16]
        if not rendered.exists():
            shutil.copytree(out, rendered)
        shutil.rmtree(out)
    after = _snapshot(project)
    if code != 0 or case["command"] == "validate":
        changed = sorted(set(before.items()) ^ set(after.items()))
        if changed:
            problems.append(f"a failing or validating run changed files: {changed[0][0]}")
    if out.exists():
        shutil.rmtree(out)
    return {
        "index": case["index"],
        "command": case["command"],
        "target": case["target"],
        "code": code,
        "seconds": round(seconds, 3),
        "problems": problems,
        "render": rendered.name if rendered else None,
        "stderr": stderr[-600:] if problems else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--validate", type=int, default=300)
    parser.add_argument("--render", type=int, default=30)
    parser.add_argument("--start", type=int, default=0)
    options = parser.parse_args()
    project = options.project.resolve()
    base = {name: (project / name).read_bytes() for name in TARGETS}
    renders = options.results.parent / "renders"
    renders.mkdir(exist_ok=True)
    from modelstack.cli import _register_optional_commands

    _register_optional_commands()
    import os

    os.chdir(project)
    cases = generate(options.seed, base, options.validate, options.render)
    with open(options.results, "a", encoding="utf-8") as results:
        for case in cases[options.start :]:
            results.write(json.dumps({"started": case["index"]}) + "\n")
            results.flush()
            outcome = run_case(project, case, base, renders)
            results.write(json.dumps(outcome) + "\n")
            results.flush()
    _place(project, {"target": TARGETS[0], "body": base[TARGETS[0]]}, base)


if __name__ == "__main__":
    sys.exit(main())
