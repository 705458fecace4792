"""Build contexts are checked at program time: a base pinned by digest, pinned dependencies, a real context."""

from __future__ import annotations

from pathlib import Path

from components.catalog.build import BuildSpec
from components.images.context import context_problems, dockerfile_problems
from components.images.context_hash import cache_key, context_hash
from components.images.lock_files import lock_file_problems

BASE = "127.0.0.1:5000/modelstack/base@sha256:" + "a" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_from_the_base_argument_is_accepted(tmp_path: Path) -> None:
    assert dockerfile_problems(write(tmp_path / "Dockerfile", "ARG BASE\nFROM ${BASE}\nUSER 10001\n")) == []


def test_from_a_digest_is_accepted(tmp_path: Path) -> None:
    assert dockerfile_problems(write(tmp_path / "Dockerfile", f"FROM {BASE} AS build\nFROM build\n")) == []


def test_from_a_moving_tag_is_refused_with_its_line(tmp_path: Path) -> None:
    problems = dockerfile_problems(write(tmp_path / "Dockerfile", "# base\nFROM python:3.12-slim\n"))
    assert [(p.line, p.file) for p in problems] == [(2, "Dockerfile")]
    assert "FROM python:3.12-slim is not pinned by digest" in problems[0].message


def test_base_argument_without_arg_line_is_refused(tmp_path: Path) -> None:
    problems = dockerfile_problems(write(tmp_path / "Dockerfile", "FROM $BASE\n"))
    assert problems and "needs an `ARG BASE`" in problems[0].message


def test_exact_pins_with_hashes_are_accepted(tmp_path: Path) -> None:
    lock = write(
        tmp_path / "requirements.txt",
        "# pinned\nnumpy==2.4.6 \\\n    --hash=sha256:"
        + "b" * 64
        + "\nprometheus-client==0.26.0 --hash=sha256:"
        + "c" * 64
        + "\n",
    )
    assert lock_file_problems(lock) == []


def test_unpinned_requirements_are_refused_line_by_line(tmp_path: Path) -> None:
    lock = write(
        tmp_path / "requirements.txt",
        f"numpy>=2\nrequests\nflask==3.*\nclick==8.5.1 --hash=sha256:{'d' * 64}\n",
    )
    problems = lock_file_problems(lock)
    assert [p.line for p in problems] == [1, 2, 3]
    assert "'numpy>=2' is not pinned" in problems[0].message


def test_included_requirement_files_are_checked_too(tmp_path: Path) -> None:
    write(tmp_path / "base.txt", "pyyaml\n")
    problems = lock_file_problems(write(tmp_path / "requirements.txt", "-r base.txt\n"))
    assert [(p.file, p.line) for p in problems] == [("base.txt", 1)]


def test_index_options_are_refused_because_the_build_is_offline(tmp_path: Path) -> None:
    problems = lock_file_problems(
        write(tmp_path / "requirements.txt", "--index-url https://pypi.org/simple\n")
    )
    assert problems and "--index-url is not allowed" in problems[0].message


def test_missing_context_is_refused(tmp_path: Path) -> None:
    problems = context_problems(BuildSpec(context="nowhere", base=BASE), tmp_path)
    assert len(problems) == 1 and "does not exist" in problems[0].message


def test_missing_lock_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "ctx" / "Dockerfile", "ARG BASE\nFROM ${BASE}\n")
    problems = context_problems(BuildSpec(context="ctx", base=BASE), tmp_path)
    assert [p.message for p in problems] == ["lock file 'requirements.txt' not found in the context"]


def test_context_hash_changes_with_any_file(tmp_path: Path) -> None:
    write(tmp_path / "ctx" / "server.py", "print(1)\n")
    build = BuildSpec(context="ctx", base=BASE)
    before = context_hash(build, tmp_path)
    write(tmp_path / "ctx" / "server.py", "print(2)\n")
    assert context_hash(build, tmp_path) != before


def test_cache_key_changes_with_the_lock_file_but_not_the_code(tmp_path: Path) -> None:
    write(tmp_path / "ctx" / "requirements.txt", "numpy==2.4.6\n")
    write(tmp_path / "ctx" / "server.py", "print(1)\n")
    build = BuildSpec(context="ctx", base=BASE)
    key = cache_key(build, tmp_path)
    write(tmp_path / "ctx" / "server.py", "print(2)\n")
    assert cache_key(build, tmp_path) == key
    write(tmp_path / "ctx" / "requirements.txt", "numpy==2.4.5\n")
    assert cache_key(build, tmp_path) != key


def test_cache_key_changes_with_the_base_digest(tmp_path: Path) -> None:
    write(tmp_path / "ctx" / "requirements.txt", "numpy==2.4.6\n")
    other = BASE.replace("a" * 64, "c" * 64)
    assert cache_key(BuildSpec(context="ctx", base=BASE), tmp_path) != cache_key(
        BuildSpec(context="ctx", base=other), tmp_path
    )


def test_catalog_rule_locates_an_unpinned_base_at_the_versions_dockerfile(tmp_path: Path) -> None:
    from components.catalog.errors import CatalogError
    from components.validation.loader import load_catalog, load_stack_config
    from tests.foundation.catalog_project import CATALOG, line_of, make_project

    write(tmp_path / "srv" / "Dockerfile", "FROM python:3.12\n")  # and no pip install
    write(tmp_path / "srv" / "requirements.txt", "numpy\n")
    catalog = CATALOG.replace(
        "        image: registry.example.com/embedder@sha256:",
        f"        build: {{context: srv, base: '{BASE}'}}\n        x-image: registry.example.com/embedder@sha256:",
    ).replace("        x-image: ", "        # was: ")
    make_project(tmp_path, catalog)
    try:
        load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))
    except CatalogError as exc:
        found = {p.path: (p.line, p.message) for p in exc.problems}
    else:
        raise AssertionError("an unpinned base must be refused")
    line, message = found["models.embedder.versions.v1.build.dockerfile"]
    assert line == line_of(catalog, "build: {context: srv")
    assert message.startswith("srv/Dockerfile:1: FROM python:3.12 is not pinned by digest")
    assert (
        "srv/requirements.txt:1: 'numpy' is not pinned"
        in found["models.embedder.versions.v1.build.lockFiles"][1]
    )


def test_the_example_server_context_passes_the_checks(project_root: Path) -> None:
    build = BuildSpec(context="examples/model-server", base=BASE)
    assert context_problems(build, project_root) == []
