"""Release edits of `models.yaml`: set a version's weight, roll back, retire — text kept as written.

Every edit is computed on the catalog's text, validated with the catalog loader, and written atomically only
when valid. The text is changed by splicing: ruamel.yaml's round-trip parser locates the exact line and
column of each value, only those characters change, and a re-parse checks that the result is exactly the
intended catalog. Comments, quoting, flow maps and line widths therefore stay byte for byte (a full
ruamel dump would re-indent and re-wrap what it does not know the original style of).

Weights: a model's weights sum to 100. `rebalance` sets one version's weight and shares the rest among the
others in proportion to their current weights, by the largest-remainder method (ties to the version listed
first), so the result is deterministic and always sums to 100.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from components.catalog.errors import CatalogError
from components.catalog.stack_config import StackConfig
from modelstack.engine.diff import describe_weights

TOTAL = 100
_WEIGHT_TOKEN = re.compile(r"""(?P<quote>["']?)(?P<number>\d+)(?P=quote)""")


class ReleaseError(ValueError):
    """A release edit that cannot be made (unknown name, weights that would be invalid); nothing written."""


class InvalidEditError(ReleaseError):
    """The edited catalog would not validate; `problems` are located in the edited text."""

    def __init__(self, error: CatalogError) -> None:
        self.problems = error.problems
        lines = "\n".join(f"  {p}" for p in error.problems)
        super().__init__(f"the edited catalog would be invalid, so nothing was written:\n{lines}")


# --- weights (pure) --------------------------------------------------------------------------------------


def rebalance(weights: Mapping[str, int], version: str, weight: int) -> dict[str, int]:
    """`version` at `weight`; the others share 100 − weight in proportion to their current weights."""
    if version not in weights:
        raise ReleaseError(f"no version {version!r} (versions: {', '.join(weights)})")
    if not 0 <= weight <= TOTAL:
        raise ReleaseError(f"weight {weight} is not between 0 and {TOTAL}")
    others = [v for v in weights if v != version]
    rest = TOTAL - weight
    current = sum(weights[v] for v in others)
    if rest and not others:
        raise ReleaseError(f"{version} is the only version; its weight can only be {TOTAL}")
    if rest and current == 0:
        raise ReleaseError(
            f"no other version carries traffic to take the remaining {rest} % — promote the version that "
            f"should receive it instead (weights: {_shares(weights)})"
        )
    shares = dict.fromkeys(others, 0)
    if rest:
        # Largest remainder: floor every exact share, then hand out the leftover units one by one to the
        # largest fractions (ties: listed first). Integer arithmetic, so no float rounding surprises.
        exact = {v: divmod(weights[v] * rest, current) for v in others}
        shares = {v: q for v, (q, _) in exact.items()}
        leftover = rest - sum(shares.values())
        by_fraction = sorted(others, key=lambda v: (-exact[v][1], others.index(v)))
        for v in by_fraction[:leftover]:
            shares[v] += 1
    return {v: weight if v == version else shares[v] for v in weights}


def rollback_target(weights: Mapping[str, int]) -> str:
    """The version to go back to: the highest weight among all but the newest (listed last); ties → oldest.

    During a canary the stable version carries most of the traffic; after a promotion to 100 % the old
    version still sits at 0 until it is retired, and is the only candidate besides the newest.
    """
    versions = list(weights)
    if len(versions) < 2:
        raise ReleaseError(f"{versions[0]} is the only version; there is nothing to roll back to")
    candidates = versions[:-1]
    return max(candidates, key=lambda v: (weights[v], -versions.index(v)))


def _shares(weights: Mapping[str, int]) -> str:
    return ", ".join(f"{v}={w}" for v, w in weights.items())


def describe(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    """`v1 90 → 50, v2 10 → 50` (versions whose weight changed; removed ones as `v1 0 → retired`)."""
    return describe_weights(before, after) or "no change"


# --- text edits ------------------------------------------------------------------------------------------


def _round_trip() -> YAML:
    return YAML(typ="rt")


def _versions_node(document: Any, model: str) -> Any:
    models: Any = document.get("models") if isinstance(document, dict) else None
    if not isinstance(models, dict) or model not in models:
        known = ", ".join(models) if isinstance(models, dict) else "none"
        raise ReleaseError(f"model {model!r} is not in the catalog (models: {known})")
    body: Any = models[model]
    versions: Any = body.get("versions") if isinstance(body, dict) else None
    if not isinstance(versions, dict):
        raise ReleaseError(f"model {model!r} has no versions mapping")
    return versions


def current_weights(text: str, model: str) -> dict[str, int]:
    versions = _versions_node(_round_trip().load(text), model)
    weights = {}
    for name, body in versions.items():
        weight = body.get("weight") if hasattr(body, "get") else None
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise ReleaseError(f"{model}/{name} has no integer weight to change")
        weights[str(name)] = weight
    return weights


def _plain(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def _splice(lines: list[str], line: int, column: int, weight: int) -> None:
    token = _WEIGHT_TOKEN.match(lines[line], column)
    if token is None:
        raise ReleaseError(f"line {line + 1}: expected a number at column {column + 1}")
    quote = token.group("quote")
    lines[line] = f"{lines[line][: token.start()]}{quote}{weight}{quote}{lines[line][token.end() :]}"


def with_weights(text: str, model: str, weights: Mapping[str, int]) -> str:
    """The catalog text with `model`'s weights replaced, every other character unchanged."""
    versions = _versions_node(_round_trip().load(text), model)
    lines = text.splitlines(keepends=True)
    for name, weight in weights.items():
        line, column = versions[name].lc.value("weight")
        _splice(lines, line, column, weight)
    edited = "".join(lines)
    expected = _plain(text)
    for name, weight in weights.items():
        expected["models"][model]["versions"][name]["weight"] = weight
    _check_intended(edited, expected)
    return edited


def with_failed_canary(text: str, model: str, version: str, reason: str) -> str:
    """The catalog text with `failedCanaries.<version>: "<reason>"` added to `model`, nothing else changed."""
    document = _round_trip().load(text)
    versions = _versions_node(document, model)
    body = document["models"][model]
    lines = text.splitlines(keepends=True)
    # JSON strings are YAML double-quoted scalars; ensure_ascii keeps the line plain ASCII.
    quoted = json.dumps(" ".join(reason.split())[:300])
    existing = body.get("failedCanaries")
    if existing is not None:
        if not hasattr(existing, "lc") or not len(existing) or existing.fa.flow_style():
            raise ReleaseError(
                f"{model}.failedCanaries is not a block mapping with entries; write it in block style"
            )
        first = next(iter(existing))
        line, column = existing.lc.key(first)
        lines.insert(line, f"{' ' * column}{version}: {quoted}\n")
    else:
        line, column = body.lc.key("versions")
        child = versions.lc.key(next(iter(versions)))[1] - column
        block = f"{' ' * column}failedCanaries:\n{' ' * (column + child)}{version}: {quoted}\n"
        lines.insert(line, block)
    edited = "".join(lines)
    expected = _plain(text)
    expected["models"][model].setdefault("failedCanaries", {})[version] = " ".join(reason.split())[:300]
    _check_intended(edited, expected)
    return edited


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def without_version(text: str, model: str, version: str) -> str:
    """The catalog text without `version`'s block; comments outside the block (before or after) stay."""
    versions = _versions_node(_round_trip().load(text), model)
    if versions.fa.flow_style():
        raise ReleaseError(f"{model}.versions is written as a flow mapping {{...}}; write it in block style")
    names = list(versions)
    key_line, key_column = versions.lc.key(version)
    lines = text.splitlines(keepends=True)
    following = names[names.index(version) + 1 :]
    end = versions.lc.key(following[0])[0] if following else len(lines)
    if not following:  # the block ends at the first outdented content line
        end = next(
            (
                i
                for i in range(key_line + 1, len(lines))
                if not _is_comment_or_blank(lines[i]) and _indent(lines[i]) <= key_column
            ),
            len(lines),
        )
    # Keep what follows the block's last line: blank lines and comments at or left of the key's column
    # introduce what comes next.
    last = key_line
    for i in range(key_line + 1, end):
        if not _is_comment_or_blank(lines[i]) or (lines[i].strip() and _indent(lines[i]) > key_column):
            last = i
    edited = "".join(lines[:key_line] + lines[last + 1 :])
    expected = _plain(text)
    del expected["models"][model]["versions"][version]
    _check_intended(edited, expected)
    return edited


def _check_intended(edited: str, expected: Any) -> None:
    if _plain(edited) != expected:
        raise ReleaseError("the catalog's layout defeated the in-place edit; make this change by hand")


# --- validation and writing ------------------------------------------------------------------------------


@contextmanager
def candidate_file(catalog_path: Path, text: str) -> Iterator[Path]:
    """`text` in a hidden file beside the catalog, so paths in it (build contexts) resolve the same way."""
    fd, name = tempfile.mkstemp(prefix=f".{catalog_path.name}.", suffix=".candidate", dir=catalog_path.parent)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        yield path
    finally:
        path.unlink(missing_ok=True)


def validate_text(text: str, catalog_path: Path, stacks: Iterable[StackConfig]) -> None:
    """Raise InvalidEditError unless `text` is a valid catalog for every stack (nothing is written)."""
    from components.validation.loader import load_catalog

    with candidate_file(catalog_path, text) as candidate:
        for stack in stacks:
            try:
                load_catalog(candidate, stack)
            except CatalogError as error:
                # Positions refer to the edited text; name the catalog, not the temporary file.
                shown = os.path.relpath(catalog_path)
                problems = [replace(p, file=shown) for p in error.problems]
                raise InvalidEditError(CatalogError(problems)) from None


def write_atomically(path: Path, text: str) -> None:
    """Replace the file in one rename, so a reader never sees half a catalog."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stacks_beside(catalog_path: Path) -> list[StackConfig]:
    """Every stack configured next to the catalog (`Pulumi.<stack>.yaml`), or in the working directory."""
    from components.validation.loader import load_stack_config

    for root in (catalog_path.resolve().parent, Path.cwd()):
        names = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        if names:
            return [load_stack_config(root, name) for name in names]
    raise ReleaseError(f"no Pulumi.<stack>.yaml beside {catalog_path} to validate the catalog against")


# --- the release operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One release step: the new catalog text and the weights before and after."""

    model: str
    before: dict[str, int]
    after: dict[str, int]
    text: str

    @property
    def summary(self) -> str:
        return f"{self.model}: {describe(self.before, self.after)}"


def plan_weight(text: str, model: str, version: str, weight: int) -> Edit:
    before = current_weights(text, model)
    after = rebalance(before, version, weight)
    return Edit(model, before, after, with_weights(text, model, after))


def plan_rollback(text: str, model: str, to: str | None = None) -> Edit:
    before = current_weights(text, model)
    target = to if to is not None else rollback_target(before)
    return plan_weight(text, model, target, TOTAL)


def _mirror_target(text: str, model: str) -> str | None:
    traffic = _plain(text)["models"][model].get("traffic") or {}
    mirror = traffic.get("mirror") or {}
    return mirror.get("version") if isinstance(mirror, dict) else None


def plan_retire(text: str, model: str, version: str) -> Edit:
    before = current_weights(text, model)
    if version not in before:
        raise ReleaseError(f"{model} has no version {version!r} (versions: {', '.join(before)})")
    if len(before) == 1:
        raise ReleaseError(f"{version} is the last version of {model}; a model needs at least one version")
    if before[version] != 0:
        raise ReleaseError(
            f"{model}/{version} still has weight {before[version]} — move its traffic first "
            f"(e.g. `modelstack promote {model} <other version> --weight 100`), then retire it"
        )
    if _mirror_target(text, model) == version:
        raise ReleaseError(f"{model}/{version} is the mirror target; remove traffic.mirror first")
    after = {v: w for v, w in before.items() if v != version}
    return Edit(model, before, after, without_version(text, model, version))


def apply_edit(catalog_path: Path, edit: Edit, stacks: Iterable[StackConfig]) -> None:
    validate_text(edit.text, catalog_path, stacks)
    write_atomically(catalog_path, edit.text)


def set_weight(
    catalog_path: Path | str,
    model: str,
    version: str,
    weight: int,
    *,
    stacks: Iterable[StackConfig] | None = None,
) -> dict[str, int]:
    """Set `model`/`version` to `weight` in the catalog file, rebalancing the others; returns the weights.

    Validates against `stacks` (default: every `Pulumi.<stack>.yaml` beside the catalog) and writes nothing
    when the result would be invalid. Raises ReleaseError (a ValueError).
    """
    path = Path(catalog_path)
    edit = plan_weight(path.read_text(encoding="utf-8"), model, version, weight)
    apply_edit(path, edit, stacks if stacks is not None else stacks_beside(path))
    return edit.after


def plan_failed_rollback(text: str, model: str, canary: str, stable: str, reason: str) -> Edit:
    """All traffic to `stable` in one step and `canary` marked failed, so the loop never restarts it."""
    edit = plan_weight(text, model, stable, TOTAL)
    return Edit(model, edit.before, edit.after, with_failed_canary(edit.text, model, canary, reason))
