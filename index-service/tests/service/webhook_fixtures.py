"""SQL fixtures for the webhook worker's tests: webhooks and queued deliveries written as
the enqueueing code writes them (migration 0014's contract), with a sealed secret.

``hooks`` (a fixture of tests/service/conftest.py): ``hooks.webhook(url, ...)`` -> id,
``hooks.enqueue(webhook_id, count)`` -> the delivery ids (uuid text) in queue order,
``hooks.delivery(delivery_id)`` -> its row as a dict, ``hooks.attempts(delivery_id)`` ->
its attempts (dicts, in order), ``hooks.make_due()``: every pending delivery due now (as
if its back-off had passed).

``SigningReceiver(secret)``: wharf_testing.receiver's receiver that checks each request as
it arrives with services/webhook_signing.py ``verify`` (the way the README tells receivers
to); each record is a ``Signed``: ``problem`` says why verify() refused it (None: valid).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from wharf_index.services import secret_box, webhook_signing
from wharf_testing.receiver import Received, Receiver

from tests.conftest import SECRET_KEY

SECRET = "receiver-shared-secret-42"


@dataclass(frozen=True)
class Signed(Received):
    problem: str | None = None  # why verify() refused it; None: valid

    @property
    def delivery_id(self) -> str:
        return self.headers["x-wharf-delivery"]


class SigningReceiver(Receiver):
    """Checks every request with ``secret`` (changeable while it runs) when it arrives."""

    def __init__(self, secret: str = SECRET, **kw) -> None:
        super().__init__(**kw)
        self.secret = secret

    def record(self, received: Received) -> Signed:
        try:
            webhook_signing.verify(self.secret, received.headers, received.body, time.time())
            problem = None
        except webhook_signing.SignatureInvalid as exc:
            problem = str(exc)
        return Signed(**vars(received), problem=problem)

    def ids(self) -> list[str]:
        return [item.delivery_id for item in self.received]


class Hooks:
    def __init__(self, sql) -> None:
        self.sql = sql
        self.namespace_id = sql(
            "INSERT INTO namespaces (name, kind) VALUES ('acme', 'org') RETURNING id"
        )[0][0]

    def webhook(
        self,
        url: str,
        *,
        format: str = "dockerhub",  # noqa: A002 - the column's name
        active: bool = True,
        secret: str = SECRET,
        sealed: str | None = None,
    ) -> int:
        sealed = sealed or secret_box.seal(SECRET_KEY, secret)
        return self.sql(
            "INSERT INTO webhooks (namespace_id, url, format, events, secret_sealed, active)"
            " VALUES (%s, %s, %s, ARRAY['tag_pushed'], %s, %s) RETURNING id",
            (self.namespace_id, url, format, sealed, active),
        )[0][0]

    def enqueue(self, webhook_id: int, count: int = 1, *, age: int = 0) -> list[str]:
        ids = []
        for _ in range(count):
            delivery_id = str(uuid.uuid4())
            body = json.dumps(
                {"delivery": delivery_id, "tag": "v1", "text": "caf\u00e9"}, ensure_ascii=False
            )
            self.sql(
                "INSERT INTO webhook_deliveries"
                " (delivery_id, webhook_id, event, body, callback_token, created_at)"
                " VALUES (%s, %s, 'tag_pushed', %s, %s, now() - make_interval(secs => %s))",
                (delivery_id, webhook_id, body, uuid.uuid4().hex, age),
            )
            ids.append(delivery_id)
        self.sql("SELECT pg_notify('wharf_webhooks', '')")
        return ids

    def delivery(self, delivery_id: str) -> dict:
        rows = self.sql(
            "SELECT status, attempts, next_attempt_at > now(),"
            " extract(epoch FROM next_attempt_at - now())::float8, finished_at IS NOT NULL"
            " FROM webhook_deliveries WHERE delivery_id = %s",
            (delivery_id,),
        )
        status, attempts, later, due_in, finished = rows[0]
        return {
            "status": status,
            "attempts": attempts,
            "later": later,
            "due_in": due_in,
            "finished": finished,
        }

    def attempts(self, delivery_id: str) -> list[dict]:
        rows = self.sql(
            "SELECT a.attempt, a.status_code, a.duration_ms, a.error, a.response"
            " FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
            " WHERE d.delivery_id = %s ORDER BY a.attempt",
            (delivery_id,),
        )
        keys = ("attempt", "status_code", "duration_ms", "error", "response")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def webhook_row(self, webhook_id: int) -> dict:
        active, reason, failures = self.sql(
            "SELECT active, disabled_reason, consecutive_failures FROM webhooks WHERE id = %s",
            (webhook_id,),
        )[0]
        return {"active": active, "reason": reason, "failures": failures}

    def make_due(self) -> None:
        self.sql("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'")
