"""A Dockerfile read the way BuildKit reads it, far enough to check what a build pulls in.

Instructions (moby/buildkit `frontend/dockerfile/docs/reference.md`, Dockerfile syntax 1.x; see
docs/upstream-interfaces.md): parser directives (`# escape=`) only at the top; comment lines removed,
also inside a continued instruction; an instruction continues while its line ends in the escape
character (trailing blanks allowed); empty lines inside a continuation are skipped; `<<WORD` here-documents
of RUN/COPY/ADD run to a line that is WORD (`<<-` strips leading tabs). Then:

- the images a build reads — `FROM`, `COPY --from`, `RUN --mount=…,from=` — with the stages they may
  name instead;
- the `pip install` commands of RUN (shell form, exec form, here-documents), with the files of the build
  context each `-r`/`-c` file was copied from (COPY/ADD from the context, COPY --from of a stage that got
  it, RUN bind mounts of the context), following WORKDIR.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(\S*)\s*")
HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
SHELLS = {"sh", "bash", "dash", "ash", "zsh"}
PIP = re.compile(r"pip(?:3(?:\.[0-9]+)?)?", re.ASCII)
PYTHON = re.compile(r"python(?:3(?:\.[0-9]+)?)?", re.ASCII)
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&", "!", "{", "}"}

# pip's options that take a value (pip 26.3 `pip/_internal/cli/cmdoptions.py`), general and `install`'s:
# their values must not be read as requirements.
GENERAL_VALUE_OPTIONS = {
    "--python", "--log", "--log-file", "--local-log", "--proxy", "--retries", "--timeout",
    "--exists-action", "--trusted-host", "--cert", "--client-cert", "--cache-dir", "--use-feature",
    "--use-deprecated", "--resume-retries", "--keyring-provider",
}  # fmt: skip
INSTALL_VALUE_OPTIONS = {
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target", "--platform",
    "--python-version", "--implementation", "--abi", "--root", "--prefix", "--src", "--upgrade-strategy",
    "-C", "--config-settings", "--global-option", "--no-binary", "--only-binary", "--progress-bar",
    "--root-user-action", "--report", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
    "--group", "--build-constraint", "--uploaded-prior-to",
    *GENERAL_VALUE_OPTIONS,
}  # fmt: skip
SHORT_VALUE_OPTIONS = {o for o in INSTALL_VALUE_OPTIONS if len(o) == 2}


@dataclass(frozen=True)
class Instruction:
    line: int
    """The line the instruction starts on."""
    keyword: str
    flags: tuple[str, ...]
    """Leading `--name[=value]` flags."""
    rest: str
    """The arguments after the flags (continuations joined)."""
    heredocs: tuple[str, ...] = ()
    lines: tuple[tuple[int, str], ...] = ()
    """The physical lines, to point at the one a problem is on."""

    def flag(self, name: str) -> str | None:
        for flag in self.flags:
            key, eq, value = flag.partition("=")
            if key == f"--{name}":
                return value if eq else ""
        return None

    def line_of(self, needle: str) -> int:
        return next((n for n, text in self.lines if needle and needle in text), self.line)


def _split_flags(text: str) -> tuple[tuple[str, ...], str]:
    flags = []
    rest = text.lstrip()
    while rest.startswith("--"):
        token, _, after = rest.partition(" ")
        flags.append(token)
        rest = after.lstrip()
    return tuple(flags), rest


def instructions(text: str) -> list[Instruction]:
    lines = text.splitlines()
    escape = "\\"
    start = 0
    for start, line in enumerate(lines):  # noqa: B007 — the first line after the directives is needed
        match = DIRECTIVE.fullmatch(line.strip())
        if not match:
            break
        if match[1].lower() == "escape" and match[2] in ("\\", "`"):
            escape = match[2]
    else:
        start = len(lines)
    out: list[Instruction] = []
    i = start
    while i < len(lines):
        raw = lines[i]
        if not raw.strip() or raw.lstrip().startswith("#"):
            i += 1
            continue
        first, parts, physical = i + 1, [], [(i + 1, raw)]
        line = raw
        while True:
            stripped = line.rstrip()
            if stripped.endswith(escape) and i + 1 < len(lines):
                parts.append(stripped[: -len(escape)])
                i += 1
                # Comment and empty lines inside a continuation are dropped, the instruction goes on.
                while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                    i += 1
                if i >= len(lines):
                    break
                line = lines[i]
                physical.append((i + 1, line))
                continue
            parts.append(stripped[: -len(escape)] if stripped.endswith(escape) else line)
            break
        i += 1
        joined = "".join(parts).strip()
        keyword, _, arguments = joined.partition(" ")
        keyword = keyword.upper()
        flags, rest = _split_flags(arguments)
        bodies: list[str] = []
        if keyword in ("RUN", "COPY", "ADD"):
            for heredoc in HEREDOC.finditer(rest):
                body: list[str] = []
                while i < len(lines):
                    current = lines[i]
                    physical.append((i + 1, current))
                    i += 1
                    check = current.lstrip("\t") if heredoc[1] else current
                    if check == heredoc[3]:
                        break
                    body.append(check)
                bodies.append("\n".join(body))
        out.append(Instruction(first, keyword, flags, rest, tuple(bodies), tuple(physical)))
    return out


# --- shell commands ------------------------------------------------------------------------------------


def _tokens(script: str) -> list[str]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        return script.split()


def simple_commands(script: str) -> Iterator[list[str]]:
    """The simple commands of a shell script: words between `;`, `&&`, `||`, `|`, `&`, parentheses and
    line ends; a word starting with `#` comments out the rest of its line."""
    logical: list[str] = []
    pending = ""
    for line in script.splitlines() or [""]:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    for line in logical:
        command: list[str] = []
        for token in _tokens(line):
            if token.startswith("#"):
                break
            if token in SEPARATORS or set(token) <= set(";&|()"):
                if command:
                    yield command
                command = []
            else:
                command.append(token)
        if command:
            yield command


def run_commands(instruction: Instruction) -> Iterator[list[str]]:
    """The simple commands a RUN runs: its shell form, its exec form, and here-documents run by a shell."""
    rest = instruction.rest
    if rest.startswith("["):
        try:
            argv = json.loads(rest)
        except (ValueError, RecursionError):  # a deeply nested array is no argv either
            argv = None
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            if len(argv) >= 3 and posixpath.basename(argv[0]) in SHELLS and argv[1] == "-c":
                yield from simple_commands(argv[2])
            elif argv:
                yield argv
            return
    shell_text = HEREDOC.sub(" ", rest)
    yield from simple_commands(shell_text)
    for heredoc, body in zip(HEREDOC.finditer(rest), instruction.heredocs, strict=False):
        before = rest[: heredoc.start()].split()
        # `RUN <<EOF` and `RUN bash <<EOF` run the document; `RUN python3 <<EOF` feeds it to a program.
        if not before or posixpath.basename(before[-1]) in SHELLS:
            yield from simple_commands(body)


WRAPPERS = {"sudo", "env", "exec", "command", "nice", "nohup", "time", "xargs", "then", "do", "else", "!"}
"""Words that run the next word as the command (and shell keywords that precede one)."""
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.ASCII | re.DOTALL)


def _command_words(command: list[str]) -> list[str]:
    """The command a simple command runs, from its program word on: variable assignments, wrappers such
    as `sudo` or `env X=1` and their options skipped (`echo pip install x` runs echo, not pip)."""
    i, wrapped = 0, False
    while i < len(command):
        word = command[i]
        if ASSIGNMENT.fullmatch(word) or word in WRAPPERS:
            wrapped = wrapped or word in WRAPPERS
            i += 1
        elif wrapped and word.startswith("-"):
            i += 1
        else:
            return command[i:]
    return []


@dataclass(frozen=True)
class PipInstall:
    requirements: tuple[str, ...]
    """Requirements named on the command line."""
    files: tuple[tuple[str, str], ...]
    """(`-r` or `-c`, path as written)."""
    flags: frozenset[str]
    """Options given, by their long name."""


def pip_install(command: list[str]) -> PipInstall | None:
    """The `pip install` a simple command runs (`pip`, `pip3.12`, `/x/bin/pip`, `python3 -m pip`, behind
    `sudo`, `env X=1`, …), or None."""
    args: list[str] | None = None
    words = _command_words(command)
    if words:
        base = posixpath.basename(words[0])
        if PIP.fullmatch(base):
            args = words[1:]
        elif PYTHON.fullmatch(base):
            rest = words[1:]
            while rest and rest[0].startswith("-") and rest[0] not in ("-m", "-mpip"):
                rest = rest[1:]
            if rest[:1] == ["-mpip"]:
                args = rest[1:]
            elif rest[:2] == ["-m", "pip"]:
                args = rest[2:]
    if args is None:
        return None
    # General options may come before the command.
    while args and args[0].startswith("-"):
        name = args[0].split("=", 1)[0]
        args = args[2:] if name in GENERAL_VALUE_OPTIONS and "=" not in args[0] else args[1:]
    if not args or args[0] != "install":
        return None
    requirements: list[str] = []
    files: list[tuple[str, str]] = []
    flags: set[str] = set()
    words = args[1:]
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if word.startswith("--") or (word.startswith("-") and len(word) >= 2):
            short = word[:2] if not word.startswith("--") else None
            if name in INSTALL_VALUE_OPTIONS and not eq:
                value = words[i + 1] if i + 1 < len(words) else ""
                i += 1
            elif short in SHORT_VALUE_OPTIONS and len(word) > 2:
                name, value = short, word[2:]
            flag = {"-r": "--requirement", "-c": "--constraint", "-e": "--editable"}.get(name, name)
            if flag in ("--requirement", "--constraint"):
                files.append(("-r" if flag == "--requirement" else "-c", value))
            elif flag == "--editable":
                requirements.append(f"-e {value}")
            flags.add(flag)
        else:
            requirements.append(word)
        i += 1
    return PipInstall(tuple(requirements), tuple(files), frozenset(flags))


# --- where a file in the image came from ---------------------------------------------------------------


@dataclass
class Copy:
    sources: tuple[str, ...]
    dest: str
    """Absolute; ends with '/' when it is a directory."""
    stage: str | None
    """`--from` stage it copies from, or None for the build context."""


@dataclass
class Stage:
    name: str
    parent: Stage | None
    workdir: str = "/"
    copies: list[Copy] = field(default_factory=list)


def _absolute(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir, path))


def copy_of(instruction: Instruction, workdir: str) -> Copy | None:
    """A COPY/ADD's sources and destination (shell or JSON form)."""
    rest = instruction.rest
    words: list[str] | None = None
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
            if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
                words = parsed
        except (ValueError, RecursionError):
            words = None
    if words is None:
        words = rest.split()
    if len(words) < 2 or instruction.heredocs:
        return None
    *sources, dest = words
    absolute = _absolute(dest, workdir)
    # `.`/`..` and the working directory are directories whatever the spelling.
    directory = dest.endswith("/") or dest in (".", "..") or len(sources) > 1 or absolute == workdir
    absolute = absolute.rstrip("/") or "/"
    if directory and absolute == "/":
        return Copy(tuple(sources), "/", instruction.flag("from"))
    return Copy(tuple(sources), absolute + ("/" if directory else ""), instruction.flag("from"))


def _source_for(copy: Copy, path: str, is_dir: Callable[[str], bool]) -> str | None:
    """The source path (in the context, or in the `--from` stage) that `path` in the image came from."""
    # A stage's paths are not known here: a source of another stage may be a directory.
    maybe_dir = (lambda _src: True) if copy.stage is not None else is_dir
    for source in reversed(copy.sources):
        src = source.lstrip("/") if copy.stage is None else source
        src = posixpath.normpath(src) if src not in ("", ".") else "."
        globbed = any(c in src for c in "*?[")
        if copy.dest.endswith("/"):
            dest = copy.dest.rstrip("/")
            if globbed:
                if (
                    posixpath.dirname(path) == (dest or "/")
                    and fnmatch.fnmatchcase(posixpath.basename(path), posixpath.basename(src))
                    and not any(c in posixpath.dirname(src) for c in "*?[")
                ):
                    return posixpath.join(posixpath.dirname(src), posixpath.basename(path))
                continue
            # A directory's content lands in dest; a file lands as dest/<its name>.
            if (src == "." or maybe_dir(src)) and path.startswith(dest + "/"):
                tail = path[len(dest) + 1 :]
                return tail if src == "." else posixpath.join(src, tail)
            if path == posixpath.join(dest or "/", posixpath.basename(src)):
                return src
        elif not globbed:
            # `COPY a.txt /app` writes /app/a.txt when /app is a directory of the image (not known here).
            if path in (copy.dest, posixpath.join(copy.dest, posixpath.basename(src))):
                return src
            if (src == "." or maybe_dir(src)) and path.startswith(copy.dest.rstrip("/") + "/"):
                tail = path[len(copy.dest.rstrip("/")) + 1 :]
                return tail if src == "." else posixpath.join(src, tail)
    return None


def context_file(
    stages: dict[str, Stage], stage: Stage, path: str, is_dir: Callable[[str], bool], depth: int = 0
) -> str | None:
    """The build-context file that `path` of `stage` holds, or None when it did not come from the context
    (or cannot be traced: a variable, a file made in the image)."""
    if depth > 32:
        return None
    current: Stage | None = stage
    while current is not None:
        for copy in reversed(current.copies):
            source = _source_for(copy, path, is_dir)
            if source is None:
                continue
            if copy.stage is None:
                return source
            other = stages.get(copy.stage.lower())
            if other is None:
                return None
            return context_file(stages, other, _absolute(source, "/"), is_dir, depth + 1)
        current = current.parent
    return None
