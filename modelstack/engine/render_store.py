"""The render cache's stored form of a render, and the render a cached run returns.

Each model's objects are three entries under the model's key (`render_keys.model_key`): their YAML texts,
the objects themselves, and an index (each object's key and text digest, the model's versions lock, its
resource count) written last, so an index entry means the other two were written. A whole render is one
entry under `render_keys.whole_key`, found through a `RENDER_DEPENDENCIES` pointer at its inputs' key.
`CachedRender` is either: objects by digest, their texts and bodies loaded only when asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.catalog.errors import Problem, Severity
from modelstack.engine.render_cache import RenderCache
from modelstack.engine.render_keys import RENDER, current_digests, inputs_key, whole_key

MODEL_INDEX = "model-index"
MODEL_TEXTS = "model-texts"
MODEL_BODIES = "model-bodies"
RENDER_DEPENDENCIES = "render-dependencies"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class CachedRender:
    """A render as the cache holds it: each object's text digest and owner, loaded lazily."""

    index: dict[str, tuple[str, str]]
    """Object key → (SHA-256 of its YAML text, the model it belongs to or "" for a stack-wide object)."""
    outputs: dict[str, Any]
    lock: dict[str, Any]
    warnings: tuple[Problem, ...]
    resources: int
    model_keys: dict[str, str]
    """Model → its cache key (a model that builds images has none)."""
    stack_objects: dict[str, tuple[str, dict[str, Any]]]
    """Stack-wide objects: key → (text, object)."""
    cache: RenderCache
    loaded: dict[str, tuple[dict[str, str], dict[str, Any] | None]] = field(default_factory=dict)
    """Models rendered by this run: model → (texts by key, objects by key)."""

    def _model_texts(self, model: str) -> dict[str, str]:
        if model in self.loaded:
            return self.loaded[model][0]
        texts = self.cache.get(MODEL_TEXTS, self.model_keys.get(model, ""))
        if texts is None:
            raise CacheVanishedError(model)
        return dict(texts)

    def _model_bodies(self, model: str) -> dict[str, Any]:
        if model in self.loaded and self.loaded[model][1] is not None:
            return self.loaded[model][1]  # type: ignore[return-value]
        bodies = self.cache.get(MODEL_BODIES, self.model_keys.get(model, ""))
        if bodies is None:
            raise CacheVanishedError(model)
        return dict(bodies)

    def model_texts(self, model: str) -> dict[str, str]:
        """One model's objects: key → YAML text."""
        return self._model_texts(model)

    def texts(self) -> Iterator[tuple[str, str]]:
        """Every (key, YAML text)."""
        for key, (text, _) in self.stack_objects.items():
            yield key, text
        for model in dict.fromkeys(owner for _, owner in self.index.values() if owner):
            yield from self._model_texts(model).items()

    def body(self, key: str) -> dict[str, Any]:
        model = self.index[key][1]
        if not model:
            return self.stack_objects[key][1]
        return dict(self._model_bodies(model)[key])

    @property
    def objects(self) -> int:
        return len(self.index)


class CacheVanishedError(Exception):
    """An entry the render index refers to was trimmed (or damaged) meanwhile: render again without it."""


# --- the stored form ------------------------------------------------------------------------------


def _problem_record(problem: Problem) -> list[Any]:
    return [problem.file, problem.line, problem.column, problem.path, problem.message, problem.severity.value]


def _problem(record: Sequence[Any]) -> Problem:
    file, line, column, path, message, severity = record
    return Problem(file, line, column, path, message, Severity(severity))


def _from_entry(entry: dict[str, Any], cache: RenderCache) -> CachedRender:
    return CachedRender(
        index={key: (sha, owner) for key, sha, owner in entry["index"]},
        outputs=entry["outputs"],
        lock=entry["lock"],
        warnings=tuple(_problem(p) for p in entry["warnings"]),
        resources=entry["resources"],
        model_keys=dict(entry["models"]),
        stack_objects={key: (text, body) for key, text, body in entry["stack_objects"]},
        cache=cache,
    )


def stored_whole(root: Path, stack: str, cache: RenderCache) -> tuple[str, CachedRender | None]:
    """The render stored whole for these inputs and the files as they are now: the inputs' key names the
    dependencies its last render read, their digests now name the entry (`render_keys.whole_key`)."""
    key = inputs_key(root, stack)
    names = cache.get(RENDER_DEPENDENCIES, key)
    if not isinstance(names, list):
        return key, None
    current = current_digests(names, root)
    entry = cache.get(RENDER, whole_key(key, current))
    # The entry's own record, against the digests just taken (not the files hashed a second time).
    if entry is None or entry["dependencies"] != current:
        return key, None
    return key, _from_entry(entry, cache)


@dataclass
class RenderedModel:
    texts: dict[str, str]
    bodies: dict[str, Any]
    index: list[tuple[str, str]]
    lock: dict[str, Any]
    resources: int


def store_model(cache: RenderCache, key: str, model: RenderedModel) -> None:
    cache.put(MODEL_TEXTS, key, model.texts)
    cache.put(MODEL_BODIES, key, model.bodies)
    # Written last: an index entry means the other two were written (a reader still checks them).
    cache.put(MODEL_INDEX, key, {"index": model.index, "lock": model.lock, "resources": model.resources})


def store_whole(
    cache: RenderCache, inputs: str, dependencies: dict[str, str], rendered: CachedRender
) -> None:
    cache.put(
        RENDER,
        whole_key(inputs, dependencies),
        {
            "dependencies": dependencies,
            "index": [[k, sha, owner] for k, (sha, owner) in rendered.index.items()],
            "outputs": rendered.outputs,
            "lock": rendered.lock,
            "warnings": [_problem_record(p) for p in rendered.warnings],
            "resources": rendered.resources,
            "models": list(rendered.model_keys.items()),
            "stack_objects": [[k, text, body] for k, (text, body) in rendered.stack_objects.items()],
        },
    )
    # Written last: it names the entry above by what the next run finds on disk.
    cache.put(RENDER_DEPENDENCIES, inputs, sorted(dependencies))
