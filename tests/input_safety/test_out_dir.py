"""Issue 14, items 1 and 3: `render --out` never deletes what the render did not write, and replaces a
previous render in one step."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelstack.engine.render import run_program, write_render

from .conftest import files_of


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory):
    from .conftest import copy_project

    return run_program(copy_project(tmp_path_factory.mktemp("dev")), "dev")


def test_render_into_the_project_root_is_refused_and_deletes_nothing(project: Path, run) -> None:
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = files_of(project)
    result = run("render", "--stack", "dev", "--out", ".")
    assert result.code == 2
    assert "was not written by `modelstack render`" in result.stderr
    assert files_of(project) == before


def test_render_onto_an_existing_file_is_refused_and_leaves_no_staging_directory(project: Path, run) -> None:
    (project / "out").write_text("mine\n")
    before = files_of(project)
    result = run("render", "--stack", "dev", "--out", "out")
    assert result.code == 2
    assert "exists and is not a directory" in result.stderr
    assert files_of(project) == before
    assert not [p for p in project.iterdir() if ".render-" in p.name]


def test_a_previous_render_with_a_foreign_file_is_refused(project: Path, run) -> None:
    assert run("render", "--stack", "dev", "--out", "out").code == 0
    (project / "out" / "notes.txt").write_text("keep me\n")
    before = files_of(project)
    result = run("render", "--stack", "dev", "--out", "out")
    assert result.code == 2 and "notes.txt" in result.stderr
    assert files_of(project) == before


def test_a_previous_render_is_replaced_and_lists_what_it_wrote(project: Path, run) -> None:
    assert run("render", "--stack", "dev", "--out", "out").code == 0
    first = files_of(project / "out")
    assert run("render", "--stack", "dev", "--out", "out").code == 0
    assert files_of(project / "out") == first
    assert ".modelstack-render" in first
    assert not [p for p in project.iterdir() if p.name.startswith(".out.")]


def test_an_empty_directory_is_rendered_into(tmp_path: Path, dev) -> None:
    (tmp_path / "out").mkdir()
    write_render(dev, tmp_path / "out")
    assert (tmp_path / "out" / "outputs.json").is_file()


def test_a_link_as_out_is_refused(tmp_path: Path, dev) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    from modelstack.engine.render_dir import RenderDirError

    with pytest.raises(RenderDirError, match="symbolic link"):
        write_render(dev, tmp_path / "out")


def _complete(directory: Path, expected: dict[str, int]) -> bool:
    return files_of(directory) == expected


def test_an_interrupt_while_writing_keeps_the_previous_render_whole(
    tmp_path: Path, dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_render(dev, out)
    previous = files_of(out)

    def interrupted(new: Path, old: Path) -> bool:
        raise KeyboardInterrupt

    from modelstack.engine import render_dir

    monkeypatch.setattr(render_dir, "_exchange", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_render(dev, out)
    assert _complete(out, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_interrupt_after_the_swap_leaves_the_new_render_whole(
    tmp_path: Path, dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_render(dev, out)
    expected = files_of(out)

    def interrupted(directory: Path, files: set[str]) -> None:
        raise KeyboardInterrupt

    from modelstack.engine import render_dir

    monkeypatch.setattr(render_dir, "_delete_render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_render(dev, out)
    assert _complete(out, expected)


def test_without_an_atomic_exchange_the_two_renames_never_leave_a_partial_render(
    tmp_path: Path, dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_render(dev, out)
    expected = files_of(out)
    from modelstack.engine import render_dir

    monkeypatch.setattr(render_dir, "_exchange", lambda a, b: False)
    write_render(dev, out)
    assert _complete(out, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_concurrent_renders_always_leave_one_whole_render_that_a_reader_sees_whole(
    tmp_path: Path, dev
) -> None:
    out = tmp_path / "out"
    write_render(dev, out)
    expected = files_of(out)
    failures: list[BaseException] = []
    seen_partial: list[dict[str, int]] = []  # `out` as a reader saw it, when not the whole render
    done = threading.Event()

    def writer() -> None:
        try:
            for _ in range(6):
                write_render(dev, out)
        except BaseException as exc:  # a failed write is a finding, reported below
            failures.append(exc)

    def identity() -> tuple[int, int] | None:
        try:
            info = out.stat()
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_ctime_ns

    def reader() -> None:
        # A walk during which `out` was swapped may mix the two trees (the old one is deleted under it);
        # the promise is that `out` names a whole render at every instant, so a walk that began and
        # ended on the same directory must see it whole.
        while not done.is_set():
            before = identity()
            try:
                seen = files_of(out)
            except FileNotFoundError:
                seen = {}
            if before is not None and identity() == before and seen != expected:
                seen_partial.append(seen)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert failures == []
    assert _complete(out, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert seen_partial == [], f"{len(seen_partial)} partial views, e.g. {len(seen_partial[0])} files"


# What a render lists: relative paths without `.` or `..` segments (its keys are checked for those).
_SEGMENTS = st.text(alphabet="ab.-_", min_size=1, max_size=4).filter(lambda s: s not in (".", ".."))
_RELATIVE_PATHS = st.lists(_SEGMENTS, min_size=1, max_size=4).map("/".join)


@settings(max_examples=200, deadline=None)
@given(st.sets(_RELATIVE_PATHS, max_size=12))
def test_the_directories_above_listed_files_are_those_pathlib_names(listed: set[str]) -> None:
    from modelstack.engine.render_dir import _parents

    expected = {p.as_posix() for f in listed for p in Path(f).parents if p != Path(".")}
    assert _parents(listed) == expected


def test_a_directory_link_inside_a_previous_render_is_refused(project: Path, run, tmp_path: Path) -> None:
    assert run("render", "--stack", "dev", "--out", "out").code == 0
    (tmp_path / "elsewhere").mkdir()
    (project / "out" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    before = files_of(project)

    result = run("render", "--stack", "dev", "--out", "out")

    assert result.code == 2 and "linked" in result.stderr
    assert files_of(project) == before
