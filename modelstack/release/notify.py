"""Webhook notifications of release-loop decisions: a generic JSON event and a Slack-compatible message.

Each decision is POSTed as JSON to every webhook of the stack's `release.webhooks`. A delivery retries a
connection error, a timeout, HTTP 429 or 5xx with exponential backoff, at most `attempts` times and never
past `deadline_s` in all; it never raises. The loop notifies after its commit is applied, so a webhook
that is down, slow or refusing costs at most the deadline and never blocks a rollback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

RETRIED_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "generic"
    """generic: the decision as a JSON object; slack: `{"text": …}` (Slack incoming webhooks, and the
    many chat tools that accept their payload)."""


@dataclass(frozen=True)
class Delivery:
    url: str
    delivered: bool
    attempts: int
    detail: str
    """The final HTTP status, or why the delivery gave up."""


def payload(webhook: Webhook, event: Mapping[str, Any], headline: str) -> dict[str, Any]:
    if webhook.format == "slack":
        return {"text": headline}
    return {"type": "modelstack.release.decision", "headline": headline, **event}


@dataclass
class Notifier:
    webhooks: tuple[Webhook, ...]
    attempts: int = 3
    deadline_s: float = 10.0
    timeout_s: float = 3.0
    backoff_s: float = 0.5
    session: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def send(self, event: Mapping[str, Any], headline: str) -> list[Delivery]:
        return [self._deliver(hook, payload(hook, event, headline)) for hook in self.webhooks]

    def _deliver(self, hook: Webhook, body: Mapping[str, Any]) -> Delivery:
        session = self.session or requests.Session()
        started = self.monotonic()
        detail = "not attempted"
        for attempt in range(1, self.attempts + 1):
            remaining = self.deadline_s - (self.monotonic() - started)
            if remaining <= 0:
                return Delivery(
                    hook.url, False, attempt - 1, f"gave up after {self.deadline_s:g} s: {detail}"
                )
            try:
                response = session.post(hook.url, json=body, timeout=min(self.timeout_s, remaining))
            except requests.RequestException as err:
                detail = f"{type(err).__name__}"
            else:
                if 200 <= response.status_code < 300:
                    return Delivery(hook.url, True, attempt, f"HTTP {response.status_code}")
                detail = f"HTTP {response.status_code}"
                if response.status_code not in RETRIED_STATUS:
                    return Delivery(hook.url, False, attempt, detail)
            if attempt < self.attempts:
                pause = self.backoff_s * 2 ** (attempt - 1)
                if self.monotonic() - started + pause >= self.deadline_s:
                    return Delivery(
                        hook.url, False, attempt, f"gave up after {self.deadline_s:g} s: {detail}"
                    )
                self.sleep(pause)
        return Delivery(hook.url, False, self.attempts, f"gave up after {self.attempts} attempts: {detail}")


def notifier_for(webhooks: Iterable[Webhook]) -> Notifier | None:
    hooks = tuple(webhooks)
    return Notifier(hooks) if hooks else None
