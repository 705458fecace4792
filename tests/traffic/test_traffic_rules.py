"""Catalog rules of the traffic issue: located errors, never a traceback."""

from __future__ import annotations

import pytest

from components.catalog.errors import CatalogError


def _messages(catalog_with, edit) -> list[str]:
    with pytest.raises(CatalogError) as error:
        catalog_with(edit)
    return [str(p) for p in error.value.errors]


def test_two_models_cannot_expose_the_same_host(catalog_with):
    def clash(data):
        data["models"]["text-embedder"]["expose"] = {"host": "chat.models.example.com"}

    (message,) = _messages(catalog_with, clash)
    assert (
        "models.text-embedder.expose: host chat.models.example.com is already exposed by model llm-chat"
        in message
    )


def test_model_name_cannot_be_another_models_version_service(catalog_with):
    def clash(data):
        data["models"]["llm-chat-v1"] = data["models"]["text-embedder"]

    (message,) = _messages(catalog_with, clash)
    assert (
        "models.llm-chat-v1: model name 'llm-chat-v1' is also the name of the Service of llm-chat/v1"
        in message
    )


def test_mirror_cannot_target_the_version_with_all_traffic(catalog_with):
    def mirror(data):
        data["models"]["vision-detector"]["traffic"] = {"mirror": {"version": "v7", "percent": 10}}

    (message,) = _messages(catalog_with, mirror)
    assert "models.vision-detector.traffic.mirror.version: v7 already receives all traffic" in message


def test_retries_must_name_their_failure_modes(catalog_with):
    def unnamed(data):
        data["models"]["llm-chat"]["traffic"]["retries"]["retryOn"] = []

    (message,) = _messages(catalog_with, unnamed)
    assert "models.llm-chat.traffic.retries.retryOn: retries without retryOn" in message


def test_retries_refuse_modes_that_repeat_work(catalog_with):
    def unsafe(data):
        data["models"]["llm-chat"]["traffic"]["retries"]["retryOn"] = ["5xx"]

    (message,) = _messages(catalog_with, unsafe)
    assert "models.llm-chat.traffic.retries.retryOn" in message
