"""Item 8 of issue #20: what a build pulls in must be pinned — `RUN pip install` only of hashed lock files
of the context, `COPY --from`/`RUN --mount from=` only of stages or digests, lock files with hashes — or
a version opts out with a reason (a warning then).

The Dockerfile reading follows BuildKit's reference (moby/buildkit frontend/dockerfile/docs/reference.md);
the requirements-file reading is checked against pip's own functions (pip 26.3) and packaging's PEP 508
parser (docs/upstream-interfaces.md, "Build contexts").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement
from pip._internal.req.req_file import ignore_comments, join_lines

from components.catalog.errors import CatalogError, Severity
from components.images.context import dockerfile_problems
from components.images.dockerfile import instructions, pip_install, run_commands
from components.images.lock_files import lock_file_problems
from components.images.problems import ContextProblem
from components.images.requirements import is_pinned, logical_lines
from components.validation.loader import load_catalog, load_stack_config
from modelstack.cli import cli
from tests.foundation.catalog_project import CATALOG, line_of, make_project

DIGEST = "sha256:" + "a" * 64
BASE = f"127.0.0.1:5000/modelstack/base@{DIGEST}"
HASH = "--hash=sha256:" + "b" * 64
LOCK = f"numpy==2.4.6 {HASH}\n"
GOOD_INSTALL = (
    "ARG BASE\nFROM ${BASE}\nCOPY requirements.txt /opt/deps/requirements.lock\n"
    "RUN python3 -m pip install --no-index --find-links /wheelhouse --require-hashes \\\n"
    "      --target /opt/deps -r /opt/deps/requirements.lock\n"
)


def problems(
    dockerfile: str, tmp_path: Path, lock_files: tuple[str, ...] = ("requirements.txt",)
) -> list[ContextProblem]:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "requirements.txt").write_text(LOCK)
    return dockerfile_problems(tmp_path / "Dockerfile", context=tmp_path, lock_files=lock_files)


def located(found: list[ContextProblem]) -> list[tuple[int, str]]:
    return [(p.line, p.check) for p in found]


# --- RUN pip install ------------------------------------------------------------------------------------


def test_installing_a_hashed_lock_file_copied_from_the_context_is_accepted(tmp_path: Path) -> None:
    assert problems(GOOD_INSTALL, tmp_path) == []


def test_pip_install_of_an_unpinned_name_is_refused_at_its_line(tmp_path: Path) -> None:
    found = problems("ARG BASE\nFROM ${BASE}\nRUN pip install requests\n", tmp_path)
    assert located(found) == [(3, "pipInstalls")]
    assert found[0].message.startswith("pip install requests is not pinned — put it in a lock file")


@pytest.mark.parametrize(
    "run",
    [
        "RUN pip install flask",
        "RUN pip3 install flask",
        "RUN pip3.12 install flask",
        "RUN /usr/local/bin/pip install flask",
        "RUN python3 -m pip install flask",
        "RUN python3.11 -I -m pip install flask",
        "RUN python -mpip install flask",
        "RUN sudo pip install flask",
        "RUN env PIP_NO_CACHE_DIR=1 pip install flask",
        "RUN PIP_NO_CACHE_DIR=1 pip install flask",
        "RUN apt-get update && pip install flask",
        "RUN set -e; if true; then pip install flask; fi",
        "RUN pip --no-cache-dir --timeout 30 install flask",
        'RUN ["pip", "install", "flask"]',
        'RUN ["/bin/sh", "-c", "pip install flask"]',
        "RUN <<EOF\nset -e\npip install flask\nEOF",
        "RUN bash <<-EOF\n\tpip install flask\n\tEOF",
        "RUN --mount=type=cache,target=/root/.cache pip install flask",
    ],
)
def test_every_spelling_of_pip_install_is_checked(tmp_path: Path, run: str) -> None:
    found = problems(f"ARG BASE\nFROM ${{BASE}}\n{run}\n", tmp_path)
    assert [p.check for p in found] == ["pipInstalls"], found
    assert "flask is not pinned" in found[0].message


@pytest.mark.parametrize(
    "run",
    [
        "RUN echo pip install flask",
        "RUN pip download flask -d /tmp/x",
        "RUN python3 <<EOF\nprint('pip install flask')\nEOF",
        "RUN pip install --require-hashes -r /opt/deps/requirements.lock # pip install flask",
    ],
)
def test_what_is_not_a_pip_install_is_not_checked_as_one(tmp_path: Path, run: str) -> None:
    found = problems(
        f"ARG BASE\nFROM ${{BASE}}\nCOPY requirements.txt /opt/deps/requirements.lock\n{run}\n", tmp_path
    )
    assert found == []


def test_a_continued_install_is_located_at_the_line_of_the_requirement(tmp_path: Path) -> None:
    dockerfile = (
        "ARG BASE\nFROM ${BASE}\nRUN pip install \\\n    --no-cache-dir \\\n    torch>=2 \\\n    numpy\n"
    )
    found = problems(dockerfile, tmp_path)
    assert located(found) == [(5, "pipInstalls"), (6, "pipInstalls")]


def test_comment_lines_inside_a_continued_run_are_removed(tmp_path: Path) -> None:
    # BuildKit removes the comment line; the instruction continues with the next line.
    dockerfile = "ARG BASE\nFROM ${BASE}\nRUN pip install \\\n# torch is next\n    torch\n"
    assert located(problems(dockerfile, tmp_path)) == [(5, "pipInstalls")]


def test_option_values_are_not_read_as_requirements(tmp_path: Path) -> None:
    dockerfile = (
        "ARG BASE\nFROM ${BASE}\nCOPY requirements.txt /opt/deps/requirements.lock\n"
        "RUN pip install --index-url https://pypi.org/simple -f /wheels --target /opt/x --platform "
        "manylinux2014_x86_64 --only-binary :all: --progress-bar off --require-hashes -r "
        "/opt/deps/requirements.lock\n"
    )
    assert problems(dockerfile, tmp_path) == []


def test_an_exact_pin_on_the_command_line_is_refused_for_want_of_a_hash(tmp_path: Path) -> None:
    found = problems('ARG BASE\nFROM ${BASE}\nRUN pip install "uvicorn[standard]==0.30.1"\n', tmp_path)
    assert located(found) == [(3, "hashes")]
    assert "is pinned but not hash-checked" in found[0].message


def test_pip_install_r_without_require_hashes_is_refused(tmp_path: Path) -> None:
    dockerfile = GOOD_INSTALL.replace("--require-hashes ", "")
    found = problems(dockerfile, tmp_path)
    assert located(found) == [(4, "hashes")]
    assert "without --require-hashes" in found[0].message


def test_pip_install_r_of_a_context_file_outside_lock_files_is_refused(tmp_path: Path) -> None:
    found = problems(GOOD_INSTALL, tmp_path, lock_files=("other.txt",))
    assert located(found) == [(5, "pipInstalls")]
    assert "installs requirements.txt of the context, which is not in build.lockFiles" in found[0].message


def test_pip_install_r_of_a_file_made_in_the_image_is_refused(tmp_path: Path) -> None:
    dockerfile = "ARG BASE\nFROM ${BASE}\nRUN echo flask > /r.txt && pip install --require-hashes -r /r.txt\n"
    found = problems(dockerfile, tmp_path)
    assert located(found) == [(3, "pipInstalls")]
    assert "is not a file copied from the build context" in found[0].message


@pytest.mark.parametrize(
    "dockerfile",
    [
        # COPY . into the working directory, a relative -r
        "ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY . .\nRUN pip install --require-hashes -r requirements.txt\n",
        # a directory destination, then through a stage
        "ARG BASE\nFROM ${BASE} AS deps\nCOPY requirements.txt /src/\nFROM ${BASE}\n"
        "COPY --from=deps /src /opt/src\nRUN pip install --require-hashes -r /opt/src/requirements.txt\n",
        # a stage built on another stage keeps its files and working directory
        "ARG BASE\nFROM ${BASE} AS base\nWORKDIR /w\nCOPY requirements.txt ./\nFROM base\n"
        "RUN pip install --require-hashes --requirement=requirements.txt\n",
        # a glob and the JSON form
        'ARG BASE\nFROM ${BASE}\nCOPY ["requirements*.txt", "/locks/"]\nRUN pip install --require-hashes -r/locks/requirements.txt\n',
        # a bind mount of the context
        "ARG BASE\nFROM ${BASE}\nRUN --mount=type=bind,source=requirements.txt,target=/tmp/r.txt "
        "pip install --require-hashes -r /tmp/r.txt\n",
    ],
    ids=["workdir-copy-dot", "through-a-stage", "inherited-stage", "glob-json", "bind-mount"],
)
def test_a_lock_file_is_traced_to_the_context_however_it_got_there(tmp_path: Path, dockerfile: str) -> None:
    assert problems(dockerfile, tmp_path) == []


def test_a_local_file_installs_only_without_its_dependencies(tmp_path: Path) -> None:
    head = "ARG BASE\nFROM ${BASE}\nCOPY . /src/\n"
    found = problems(f"{head}RUN pip install /src/pkg\n", tmp_path)
    assert located(found) == [(4, "pipInstalls")]
    assert "add --no-deps" in found[0].message
    assert problems(f"{head}RUN pip install --no-deps /src/pkg\n", tmp_path) == []


def test_a_variable_or_editable_requirement_is_refused(tmp_path: Path) -> None:
    found = problems(
        'ARG BASE\nFROM ${BASE}\nRUN pip install "torch==${TORCH}" && pip install -e /src\n', tmp_path
    )
    assert [p.check for p in found] == ["pipInstalls", "pipInstalls"]
    assert "not a literal requirement" in found[0].message and "editable" in found[1].message


def test_the_escape_directive_sets_the_continuation_character(tmp_path: Path) -> None:
    found = problems("# escape=`\nARG BASE\nFROM ${BASE}\nRUN pip install `\n    flask\n", tmp_path)
    assert located(found) == [(5, "pipInstalls")]


# --- COPY --from and RUN --mount from= -------------------------------------------------------------------


def test_copy_from_an_image_by_tag_is_refused(tmp_path: Path) -> None:
    found = problems(
        "ARG BASE\nFROM ${BASE}\nCOPY --from=nginx:latest /etc/nginx/nginx.conf /n.conf\n", tmp_path
    )
    assert located(found) == [(3, "copyFrom")]
    assert found[0].message.startswith(
        "COPY --from=nginx:latest is not pinned by digest — copy from a build stage"
    )


@pytest.mark.parametrize("source", ["build", "BUILD", "0", f"registry.example.com/tools@{DIGEST}", "${BASE}"])
def test_copy_from_a_stage_or_a_digest_is_accepted(tmp_path: Path, source: str) -> None:
    dockerfile = f"ARG BASE\nFROM ${{BASE}} AS Build\nFROM ${{BASE}}\nCOPY --from={source} /x /x\n"
    assert problems(dockerfile, tmp_path) == []


def test_copy_from_a_later_stage_index_is_an_image_and_refused(tmp_path: Path) -> None:
    found = problems("ARG BASE\nFROM ${BASE}\nCOPY --from=3 /x /x\n", tmp_path)
    assert located(found) == [(3, "copyFrom")]


def test_run_mount_from_an_image_by_tag_is_refused(tmp_path: Path) -> None:
    dockerfile = (
        "ARG BASE\nFROM ${BASE}\nRUN --mount=type=bind,from=ghcr.io/astral-sh/uv:latest,source=/uv,"
        "target=/bin/uv uv --version\n"
    )
    found = problems(dockerfile, tmp_path)
    assert located(found) == [(3, "copyFrom")]
    assert "RUN --mount from=ghcr.io/astral-sh/uv:latest is not pinned by digest" in found[0].message


def test_a_continued_from_line_is_still_checked(tmp_path: Path) -> None:
    found = problems("FROM \\\n  python:3.12 \\\n  AS build\n", tmp_path)
    assert [p.line for p in found] == [1] and "FROM python:3.12 is not pinned" in found[0].message


# --- lock files -------------------------------------------------------------------------------------------


def write_lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_a_lock_file_requirement_without_a_hash_is_refused(tmp_path: Path) -> None:
    found = lock_file_problems(write_lock(tmp_path, f"numpy==2.4.6 {HASH}\nclick==8.5.1\n"))
    assert located(found) == [(2, "hashes")]
    assert "'click==8.5.1' has no --hash" in found[0].message


@pytest.mark.parametrize(
    ("value", "why"),
    [("md5:" + "a" * 32, "not one pip accepts"), ("sha256:" + "a" * 63, "is not 64 hex digits")],
)
def test_a_hash_that_cannot_verify_is_refused(tmp_path: Path, value: str, why: str) -> None:
    found = lock_file_problems(write_lock(tmp_path, f"numpy==2.4.6 --hash={value}\n"))
    assert len(found) == 1 and why in found[0].message and found[0].check == ""


def test_a_constraints_file_needs_pins_but_no_hashes(tmp_path: Path) -> None:
    (tmp_path / "constraints.txt").write_text("urllib3==2.5.0\nidna>=3\n")
    found = lock_file_problems(write_lock(tmp_path, f"-c constraints.txt\n{LOCK}"))
    assert [(p.file, p.line) for p in found] == [("constraints.txt", 2)]


def test_an_option_pip_does_not_take_on_a_requirement_line_is_refused(tmp_path: Path) -> None:
    found = lock_file_problems(write_lock(tmp_path, f"numpy==2.4.6 {HASH} --index-url https://x\n"))
    assert len(found) == 1 and "--index-url is not a per-requirement option" in found[0].message


def test_spaces_extras_and_markers_of_a_pinned_requirement_are_accepted(tmp_path: Path) -> None:
    text = f'requests [security, socks] == 2.32.3 ; python_version >= "3.9" {HASH}\n'
    assert lock_file_problems(write_lock(tmp_path, text)) == []


def test_a_tab_before_a_comment_is_a_comment(tmp_path: Path) -> None:
    assert lock_file_problems(write_lock(tmp_path, f"numpy==2.4.6 {HASH}\t# the array library\n")) == []


# --- pip's and packaging's own readings as the oracle -------------------------------------------------------

PIECES = st.sampled_from(
    ["numpy==2.4.6", "  --hash=sha256:" + "c" * 64, "# note", "  # indented note", "", "   ", "-r other.txt",
     "pkg \\", "x==1 # c \\", "\\", "a==1\t#tab", "b==2 \\\\", "c #d", "#", "--require-hashes"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(alphabet=" #\\=ab-\t", max_size=12)), max_size=12))
def test_lock_file_lines_are_the_lines_pip_reads(lines: list[str]) -> None:
    text = "\n".join(lines)
    expected = list(ignore_comments(join_lines(enumerate(text.splitlines(), start=1))))
    assert logical_lines(text) == expected


NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,6}[A-Za-z0-9])?", fullmatch=True)
VERSIONS = st.sampled_from(
    ["1.0", "2.4.6", "0.26.0", "1!2.0", "1.0.post1", "2.0rc1", "1.0+local.7", "3.*", "1.0.*"]
)
OPERATORS = st.sampled_from(["==", "===", ">=", "~=", "!=", "<", "=="])
MARKERS = st.sampled_from(["", '; python_version >= "3.9"', ";sys_platform == 'linux'"])


@settings(max_examples=400, deadline=None)
@given(
    name=NAMES,
    extras=st.lists(NAMES, max_size=2),
    spaces=st.sampled_from(["", " ", "  "]),
    specs=st.lists(st.tuples(OPERATORS, VERSIONS), min_size=0, max_size=2),
    marker=MARKERS,
)
def test_a_requirement_is_pinned_exactly_when_pep_508_gives_it_one_exact_version(
    name: str, extras: list[str], spaces: str, specs: list[tuple[str, str]], marker: str
) -> None:
    extra = f"{spaces}[{','.join(extras)}]" if extras else ""
    spec = ",".join(f"{spaces}{op}{spaces}{version}" for op, version in specs)
    text = f"{name}{extra}{spec}{spaces}{marker}"
    try:
        parsed = Requirement(text)
    except InvalidRequirement:
        assert not is_pinned(text)
        return
    exact = [s for s in parsed.specifier if s.operator in ("==", "===") and not s.version.endswith(".*")]
    assert is_pinned(text) == (len(parsed.specifier) == 1 and len(exact) == 1), text


INSTRUCTIONS = st.lists(
    st.tuples(
        st.sampled_from(["RUN", "COPY", "ENV", "WORKDIR", "USER", "run", "Copy"]),
        # The first word never starts with `--`: BuildKit reads leading `--words` as the instruction's
        # flags, and a bare `--` ends them and is dropped (parser.go, extractBuilderFlags).
        st.lists(st.from_regex(r"[a-z0-9/._=-]{1,8}", fullmatch=True), min_size=1, max_size=5).filter(
            lambda words: not words[0].startswith("--")
        ),
    ),
    min_size=1,
    max_size=6,
)
LAYOUT = st.lists(
    st.sampled_from(["space", "continue", "continue-comment", "continue-blank"]), min_size=30, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(INSTRUCTIONS, LAYOUT, st.sampled_from(["", "  "]), st.booleans())
def test_instructions_are_split_as_buildkit_splits_them(
    written: list[tuple[str, list[str]]], layout: list[str], indent: str, comments: bool
) -> None:
    lines = ["FROM scratch"]
    for keyword, words in written:
        text = f"{indent}{keyword} {words[0]}"
        for i, word in enumerate(words[1:]):
            how = layout[i % len(layout)]
            if how == "space":
                text += f" {word}"
                continue
            lines.append(text + " \\")
            if how == "continue-comment":
                lines.append("# a comment line inside the instruction")
            elif how == "continue-blank":
                lines.append("")
            text = f"  {word}"
        lines.append(text)
        if comments:
            lines.append("# between instructions")
    parsed = instructions("\n".join(lines) + "\n")
    assert [(i.keyword, i.rest.split()) for i in parsed[1:]] == [(k.upper(), w) for k, w in written]


REQS = st.lists(st.sampled_from(["flask", "torch>=2", "'numpy==2.0'", '"a[b]==1"', "./pkg"]), max_size=3)
OPTIONS = st.lists(
    st.sampled_from(
        [("--no-cache-dir",), ("--target", "/opt/x"), ("-t", "/opt/y"), ("--index-url=https://i",),
         ("-i", "https://i"), ("--only-binary", ":all:"), ("--no-deps",), ("-C", "k=v"), ("--progress-bar", "off")]
    ),
    max_size=4,
)  # fmt: skip
FILES = st.lists(
    st.sampled_from([("-r", "a.txt"), ("--requirement", "b.txt"), ("-c", "c.txt"), ("-rd.txt",)]), max_size=2
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["pip", "pip3", "python3 -m pip", "/usr/bin/pip3.11", "sudo -H pip"]),
    REQS,
    OPTIONS,
    FILES,
    st.booleans(),
)
def test_a_pip_install_command_is_read_word_for_word(
    program: str,
    requirements: list[str],
    options: list[tuple[str, ...]],
    files: list[tuple[str, ...]],
    split: bool,
) -> None:
    words = [*[w for o in options for w in o], *[w for f in files for w in f], *requirements]
    script = f"{program} install " + (" \\\n  ".join(words) if split else " ".join(words))
    (command,) = list(run_commands(instructions(f"RUN {script}\n")[0]))
    found = pip_install(command)
    assert found is not None
    assert list(found.requirements) == [r.strip("'\"") for r in requirements]
    read = [(f[0], f[1]) if len(f) == 2 else ("-r", f[0][2:]) for f in files]
    assert list(found.files) == [("-r" if k in ("-r", "--requirement") else "-c", v) for k, v in read]


# --- the catalog: located errors, the opt-out ---------------------------------------------------------------

UNPINNED_DOCKERFILE = (
    "ARG BASE\nFROM ${BASE}\nCOPY --from=busybox:1.36 /bin/sh /sh\nRUN pip install requests\n"
)


def built_catalog(tmp_path: Path, dockerfile: str, lock: str, unchecked: str = "") -> str:
    (tmp_path / "srv").mkdir(exist_ok=True)
    (tmp_path / "srv" / "Dockerfile").write_text(dockerfile)
    (tmp_path / "srv" / "requirements.txt").write_text(lock)
    build = f"        build: {{context: srv, base: '{BASE}'{unchecked}}}\n"
    catalog = CATALOG.replace(
        f"        image: registry.example.com/embedder@sha256:{CATALOG.split('embedder@sha256:')[1][:64]}\n",
        build,
    )
    assert build in catalog
    make_project(tmp_path, catalog)
    return catalog


def test_each_hole_is_a_located_error_of_the_versions_build(tmp_path: Path) -> None:
    catalog = built_catalog(tmp_path, UNPINNED_DOCKERFILE, "numpy==2.4.6\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))
    found = [(p.path, p.line, p.message.split(" — ")[0]) for p in caught.value.problems]
    line = line_of(catalog, "build: {context: srv")
    where = "models.embedder.versions.v1.build"
    assert found == [
        (f"{where}.dockerfile", line, "srv/Dockerfile:3: COPY --from=busybox:1.36 is not pinned by digest"),
        (f"{where}.dockerfile", line, "srv/Dockerfile:4: pip install requests is not pinned"),
        (f"{where}.lockFiles", line, "srv/requirements.txt:1: 'numpy==2.4.6' has no --hash"),
    ]


def test_validate_refuses_the_holes_with_exit_2_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_catalog(tmp_path, UNPINNED_DOCKERFILE, "numpy==2.4.6\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", "--stack", "test"])
    assert result.exit_code == 2, result.output
    assert "srv/Dockerfile:4: pip install requests is not pinned" in result.output
    assert "Traceback" not in result.output


def test_an_opted_out_check_is_a_warning_that_quotes_its_reason(tmp_path: Path) -> None:
    reason = "the wheels are built from vendored sources in the image"
    built_catalog(
        tmp_path,
        "ARG BASE\nFROM ${BASE}\nCOPY requirements.txt /r.txt\nRUN pip install -r /r.txt\n",
        "numpy==2.4.6\n",
        f", unchecked: {{hashes: '{reason}'}}",
    )
    loaded = load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))
    warned = [p for p in loaded.warnings if p.path.startswith("models.embedder.versions.v1.build")]
    assert [p.severity for p in warned] == [Severity.WARNING, Severity.WARNING]
    assert all(f"allowed by build.unchecked.hashes: {reason!r}" in p.message for p in warned)


def test_an_opt_out_covers_only_its_own_check(tmp_path: Path) -> None:
    built_catalog(
        tmp_path,
        UNPINNED_DOCKERFILE,
        f"numpy==2.4.6 {HASH}\n",
        ", unchecked: {hashes: 'wheels built in the image'}",
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))
    errors = [p.message for p in caught.value.errors]
    assert len(errors) == 2 and "COPY --from=busybox" in errors[0] and "pip install requests" in errors[1]


def test_an_opt_out_needs_a_reason(tmp_path: Path) -> None:
    catalog = built_catalog(tmp_path, GOOD_INSTALL, LOCK, ", unchecked: {copyFrom: 'x'}")
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))
    (problem,) = caught.value.problems
    assert problem.path == "models.embedder.versions.v1.build.unchecked.copyFrom"
    assert problem.line == line_of(catalog, "copyFrom")
    assert "is not a reason — write one line of at least 10 characters" in problem.message


DOCKERFILE_ALPHABET = st.sampled_from(
    ["\n", " ", "\\", "`", "#", "RUN ", "COPY ", "FROM ", "ARG BASE", "WORKDIR ", "--from=", "--mount=",
     "type=bind,", "from=", "target=/t,", "pip ", "install ", "-r ", "/t", "<<EOF", "EOF", "<<-X", "\t",
     "[", "]", '"', "'", "${BASE}", "$X", "=", "==1", "-e ", "x", "²", "python3 -m pip ", "&&", ";", "|",
     "(", ")", "# escape=`\n", "*", ".", "\x00"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(DOCKERFILE_ALPHABET, max_size=60).map("".join))
def test_no_dockerfile_makes_the_check_fail_instead_of_answer(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    context = tmp_path_factory.mktemp("ctx")
    found = dockerfile_problems(
        context / "Dockerfile", text, context=context, lock_files=("requirements.txt",)
    )
    assert all(p.line >= 1 and p.message for p in found)


def test_a_deeply_nested_exec_form_is_answered(tmp_path: Path) -> None:
    text = "ARG BASE\nFROM ${BASE}\nRUN " + "[" * 100_000 + "\nCOPY " + "[" * 100_000 + "\n"
    assert dockerfile_problems(tmp_path / "Dockerfile", text, context=tmp_path) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        PIECES
        | st.sampled_from(["-c", "--hash", "'", "==", "-rx", "--hash=md5:1", "-r a\x00b", "-r ../../x"]),
        max_size=12,
    ).map("\n".join)
)
def test_no_lock_file_makes_the_check_fail_instead_of_answer(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    directory = tmp_path_factory.mktemp("lock")
    found = lock_file_problems(directory / "requirements.txt", directory, text=text)
    assert all(p.message for p in found)
