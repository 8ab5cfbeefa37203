"""The webhook worker against real PostgreSQL and a real receiver on 127.0.0.1: signing,
order, retries and back-off, max age, disabling, the address rule at delivery, redirects,
timeouts, wake-ups, and real ``wharf-index worker`` processes (two at once; one killed
mid-delivery)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import psycopg2
import pytest
from wharf_index import cli
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.adapters.webhook_http import WebhookHTTP
from wharf_index.adapters.webhook_queue import PgWakeups
from wharf_index.cli_worker import STOP_GRACE
from wharf_index.domain.webhook_targets import parse_networks
from wharf_index.services import secret_box, webhooks
from wharf_index.services.webhook_worker import DeliveryPolicy, WebhookWorker, deliver_next
from wharf_index.services.webhooks import Owner
from wharf_testing.receiver import Answer

from tests.conftest import SECRET_KEY, terminate_sessions
from tests.service.webhook_fixtures import SECRET, SigningReceiver

LOOPBACK = parse_networks("127.0.0.0/8")
POLICY = DeliveryPolicy(secret_key=SECRET_KEY, version="9.9.9", retry_base=2, retry_max=60)


def sender(**overrides) -> WebhookHTTP:
    values = {"allowed_networks": LOOPBACK, "connect_timeout": 2, "timeout": 5, **overrides}
    return WebhookHTTP(**values)


def deliver(uow, *, send=None, policy=POLICY, rand=lambda: 1.0):
    return deliver_next(uow, send or sender(), policy, rand=rand)


def poll(check, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout} s")


def test_deliveries_are_signed_and_sent_in_order_per_webhook(
    hooks, receiver, database, service_config, caplog
):
    caplog.set_level(logging.INFO)
    plain = hooks.webhook(receiver.url + "/plain?token=abc")
    events = hooks.webhook(receiver.url + "/events", format="cloudevents")
    queued = {plain: hooks.enqueue(plain, 6), events: hooks.enqueue(events, 6)}

    worker = WebhookWorker(
        lambda: PgUnitOfWork(database, service_config), sender(), POLICY, threads=4
    )
    assert worker.run_until_idle() == 12

    received = receiver.wait_for(12)
    assert len(received) == 12 and all(item.problem is None for item in received)
    for webhook, path, content_type in (
        (plain, "/plain?token=abc", "application/json"),
        (events, "/events", "application/cloudevents+json"),
    ):
        mine = [item for item in received if item.path == path]
        assert [item.delivery_id for item in mine] == queued[webhook]  # in queue order
        for item in mine:
            assert item.headers["content-type"] == content_type
            assert item.headers["user-agent"] == "Wharf-Webhooks/9.9.9"
            assert item.headers["x-wharf-event"] == "tag_pushed"
            assert item.headers["x-wharf-signature"].startswith("sha256=")
            assert item.delivery_id in item.body.decode()  # the stored body, byte for byte
            assert "café" in item.body.decode()
        for delivery_id in queued[webhook]:
            assert hooks.delivery(delivery_id)["status"] == "delivered"
            assert hooks.delivery(delivery_id)["finished"]
            (attempt,) = hooks.attempts(delivery_id)
            assert attempt["status_code"] == 200 and attempt["error"] == ""
            assert attempt["response"] == "ok"
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("webhook_worker")]
    assert len(lines) == 12 and all("HTTP 200" in line and " ms" in line for line in lines)
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert SECRET not in logged and "sha256=" not in logged and "token=abc" not in logged


def test_receiver_down_then_up_is_retried_with_the_same_delivery_id(hooks, uow):
    receiver = SigningReceiver().start()
    receiver.stop()  # the port is closed: connection refused
    webhook = hooks.webhook(receiver.url + "/hook")
    (delivery_id,) = hooks.enqueue(webhook)

    for attempt in (1, 2):
        done = deliver(uow)
        assert done.result == "retry" and done.outcome.status_code is None
        row = hooks.delivery(delivery_id)
        assert row["status"] == "pending" and row["attempts"] == attempt and row["later"]
        assert deliver(uow) is None  # not due again yet
        hooks.make_due()

    receiver.start()
    try:
        assert deliver(uow).result == "delivered"
        assert receiver.ids() == [delivery_id]
        assert receiver.received[0].problem is None
    finally:
        receiver.stop()
    attempts = hooks.attempts(delivery_id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert all("connection refused" in a["error"] for a in attempts[:2])
    assert attempts[2]["status_code"] == 200 and attempts[2]["error"] == ""
    assert hooks.delivery(delivery_id) | {"due_in": None} == {
        "status": "delivered",
        "attempts": 3,
        "later": False,
        "due_in": None,
        "finished": True,
    }


def test_a_500_schedules_exponential_backoff_and_success_resets_the_failures(hooks, receiver, uow):
    receiver.answer = Answer(500, body=b"boom \xff")
    webhook = hooks.webhook(receiver.url)
    (delivery_id,) = hooks.enqueue(webhook)

    delays = []
    for attempt in (1, 2, 3):
        done = deliver(uow, rand=lambda: 1.0)
        assert done.result == "retry" and done.outcome.status_code == 500
        delays.append(hooks.delivery(delivery_id)["due_in"])
        assert hooks.webhook_row(webhook)["failures"] == attempt
        hooks.make_due()
    # base 2 s * 2**(attempt-1), times the random factor (1.0 here).
    assert [round(d) for d in delays] == [2, 4, 8]
    half = deliver(uow, rand=lambda: 0.0)  # the factor's low end: half the delay
    assert half.delay == pytest.approx(8.0)
    last = hooks.attempts(delivery_id)[-1]
    assert last["status_code"] == 500 and last["response"] == "boom \ufffd"

    hooks.make_due()
    receiver.answer = Answer(200)
    assert deliver(uow).result == "delivered"
    assert hooks.webhook_row(webhook) == {"active": True, "reason": "", "failures": 0}


def test_backoff_is_capped_at_the_retry_maximum(hooks, receiver, uow):
    receiver.answer = Answer(503)
    (delivery_id,) = hooks.enqueue(hooks.webhook(receiver.url))
    policy = DeliveryPolicy(secret_key=SECRET_KEY, version="t", retry_base=2, retry_max=5)
    for _ in range(4):
        deliver(uow, policy=policy)
        hooks.make_due()
    deliver(uow, policy=policy)
    assert hooks.delivery(delivery_id)["due_in"] == pytest.approx(5, abs=0.5)


def test_an_attempt_in_flight_does_not_hold_up_queueing_for_its_webhook(hooks, receiver, uow, sql):
    receiver.hold()
    webhook = hooks.webhook(receiver.url)
    (first,) = hooks.enqueue(webhook)
    attempt = threading.Thread(target=deliver, args=(uow,))
    attempt.start()
    try:
        assert receiver.held.wait(10)  # the webhook's row is locked by the attempt
        sql("SET lock_timeout = '1s'")  # a foreign-key check waiting on it would fail
        started = time.monotonic()
        (second,) = hooks.enqueue(webhook)
        assert time.monotonic() - started < 0.5
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            sql("UPDATE webhooks SET name = 'renamed' WHERE id = %s", (webhook,))
    finally:
        receiver.release()
        attempt.join(10)
    assert hooks.delivery(first)["status"] == "delivered"
    assert hooks.delivery(second)["status"] == "pending"


def test_a_slow_receiver_is_cut_off_at_the_total_timeout(hooks, receiver, uow):
    receiver.answer = Answer(drip=0.2)  # one byte every 0.2 s: no single read waits long
    webhook = hooks.webhook(receiver.url)
    (delivery_id,) = hooks.enqueue(webhook)

    started = time.monotonic()
    done = deliver(uow, send=sender(timeout=1))
    assert time.monotonic() - started < 2.5
    assert done.result == "retry" and done.outcome.status_code is None
    (attempt,) = hooks.attempts(delivery_id)
    assert "within 1 s (INDEX_WEBHOOK_TIMEOUT)" in attempt["error"]
    assert 900 <= attempt["duration_ms"] < 2500


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_target_is_refused_at_delivery_without_connecting(hooks, receiver, uow, host):
    webhook = hooks.webhook(f"http://{host}:{receiver.port}/hook")
    (delivery_id,) = hooks.enqueue(webhook)

    done = deliver(uow, send=sender(allowed_networks=()))
    assert done.result == "retry"
    (attempt,) = hooks.attempts(delivery_id)
    assert attempt["status_code"] is None
    assert attempt["error"].startswith(f"refused: {host} resolves to ")
    assert "127.0.0.1" in attempt["error"] and "INDEX_WEBHOOK_ALLOWED_NETWORKS" in attempt["error"]
    assert receiver.connections == 0 and receiver.received == []

    hooks.make_due()
    assert deliver(uow).result == "delivered"  # the same target once the network is allowed
    assert receiver.ids() == [delivery_id]


def test_a_redirect_is_not_followed_by_default(hooks, receiver, uow):
    target = SigningReceiver().start()
    try:
        receiver.answer = Answer(302, {"Location": target.url + "/elsewhere"})
        (delivery_id,) = hooks.enqueue(hooks.webhook(receiver.url))
        assert deliver(uow).result == "retry"
        (attempt,) = hooks.attempts(delivery_id)
        assert attempt["status_code"] == 302
        assert attempt["error"].startswith("redirect not followed")
        assert target.connections == 0

        hooks.make_due()  # allowed: each hop checked, the same body and signature
        assert deliver(uow, send=sender(follow_redirects=1)).result == "delivered"
        assert target.ids() == [delivery_id] and target.received[0].problem is None
        assert target.received[0].path == "/elsewhere"
    finally:
        target.stop()


def test_a_followed_redirect_to_a_disallowed_address_is_refused(hooks, receiver, uow):
    receiver.answer = Answer(307, {"Location": "http://10.0.0.1:9/internal"})
    (delivery_id,) = hooks.enqueue(hooks.webhook(receiver.url))
    started = time.monotonic()
    assert deliver(uow, send=sender(follow_redirects=3)).result == "retry"
    assert time.monotonic() - started < 2  # refused, not a connection attempt timing out
    (attempt,) = hooks.attempts(delivery_id)
    assert attempt["error"].startswith("refused: 10.0.0.1 resolves to 10.0.0.1")

    receiver.answer = Answer(
        307, {"Location": receiver.url + "/again"}
    )  # a loop: more than the allowed hops
    hooks.make_due()
    deliver(uow, send=sender(follow_redirects=2))
    assert hooks.attempts(delivery_id)[-1]["error"] == "more than 2 redirects"


def test_max_failures_in_a_row_disable_the_webhook_with_the_reason(hooks, receiver, uow):
    receiver.answer = Answer(500)
    webhook = hooks.webhook(receiver.url)
    first, second = hooks.enqueue(webhook, 2)
    policy = DeliveryPolicy(secret_key=SECRET_KEY, version="t", max_failures=3, max_age=3600)

    deliver(uow, policy=policy)
    hooks.sql(  # the first delivery runs out of time: the failures go on counting
        "UPDATE webhook_deliveries SET created_at = now() - interval '59 minutes 59 seconds',"
        " next_attempt_at = now() WHERE delivery_id = %s",
        (first,),
    )
    assert deliver(uow, policy=policy).result == "failed"
    assert hooks.delivery(first)["status"] == "failed"
    done = deliver(uow, policy=policy)
    assert done.delivery.delivery_id == second and done.disabled
    assert hooks.webhook_row(webhook) == {
        "active": False,
        "reason": "disabled after 3 failed delivery attempts in a row; last: HTTP 500",
        "failures": 3,
    }
    hooks.make_due()
    assert deliver(uow, policy=policy) is None  # disabled: nothing more goes out
    assert len(receiver.received) == 3
    assert hooks.delivery(second)["status"] == "pending"  # waits for a re-enable


def test_a_disabled_webhook_gets_nothing(hooks, receiver, uow, database, service_config):
    webhook = hooks.webhook(receiver.url, active=False)
    (delivery_id,) = hooks.enqueue(webhook)
    worker = WebhookWorker(lambda: PgUnitOfWork(database, service_config), sender(), POLICY)
    assert worker.run_until_idle() == 0
    assert receiver.connections == 0
    assert hooks.delivery(delivery_id)["status"] == "pending"


def test_deliveries_older_than_the_max_age_fail(hooks, receiver, uow):
    webhook = hooks.webhook(receiver.url)
    (stale,) = hooks.enqueue(webhook, age=25 * 3600)
    done = deliver(uow)
    assert done.result == "expired"
    assert hooks.delivery(stale) | {"due_in": None} == {
        "status": "failed",
        "attempts": 1,
        "later": False,
        "due_in": None,
        "finished": True,
    }
    (logged,) = hooks.attempts(stale)
    assert logged["status_code"] is None and logged["duration_ms"] == 0
    assert logged["error"].startswith("not sent: queued longer ago than INDEX_WEBHOOK_MAX_AGE")
    assert receiver.connections == 0

    receiver.answer = Answer(500)  # failing, and the next try would fall past the max age
    (late,) = hooks.enqueue(webhook, age=24 * 3600 - 1)
    assert deliver(uow).result == "failed"
    assert hooks.delivery(late)["status"] == "failed"
    assert hooks.delivery(late)["attempts"] == 1


def test_through_the_control_plane_ping_and_redeliver_old_deliveries(
    database, service_config, principal, users, receiver, sql
):
    """The API's services queue (webhooks.create_webhook, ping, redeliver); the worker
    sends, signed with the secret the creation answered; a redelivery goes out again with
    the same id, however old the delivery, even one that expired unsent."""
    config = replace(service_config, secret_key=SECRET_KEY, webhook_allowed_networks=LOOPBACK)
    uow = PgUnitOfWork(database, config)
    owner, alice = Owner("namespace", "alice"), principal("alice")
    url = f"http://localhost:{receiver.port}/hook"
    hook, secret = webhooks.create_webhook(uow, alice, owner, url=url, fmt="cloudevents")
    receiver.secret = secret
    first = webhooks.ping(uow, alice, owner, hook.id)
    second = webhooks.ping(uow, alice, owner, hook.id)
    worker = WebhookWorker(lambda: PgUnitOfWork(database, config), sender(), POLICY)
    assert worker.run_until_idle() == 2
    assert receiver.ids() == [first.delivery_id, second.delivery_id]
    assert all(item.problem is None for item in receiver.received)
    assert receiver.received[0].headers["x-wharf-event"] == "ping"
    assert receiver.received[0].headers["content-type"] == "application/cloudevents+json"

    sql("UPDATE webhook_deliveries SET created_at = now() - interval '3 days'")
    webhooks.redeliver(uow, alice, owner, hook.id, first.delivery_id)
    assert worker.run_until_idle() == 1
    assert receiver.ids()[-1] == first.delivery_id

    third = webhooks.ping(uow, alice, owner, hook.id)
    sql("UPDATE webhook_deliveries SET created_at = now() - interval '3 days'")
    assert worker.run_until_idle() == 1  # expired: not sent
    assert receiver.ids()[-1] == first.delivery_id
    webhooks.redeliver(uow, alice, owner, hook.id, third.delivery_id)
    assert worker.run_until_idle() == 1
    assert receiver.ids()[-1] == third.delivery_id
    log = webhooks.list_deliveries(uow, alice, owner, hook.id, after=None, limit=10)
    statuses = {d.delivery_id: (d.status, [a.status_code for a in d.attempts]) for d in log.items}
    assert statuses[str(first.delivery_id)] == ("delivered", [200, 200])
    assert statuses[str(third.delivery_id)] == ("delivered", [200, None])  # newest first


def test_an_unreadable_secret_fails_the_attempt_with_a_clear_error(hooks, receiver, uow, caplog):
    caplog.set_level(logging.INFO)
    sealed = secret_box.seal("another-secret-key-entirely", SECRET)
    (delivery_id,) = hooks.enqueue(hooks.webhook(receiver.url, sealed=sealed))
    assert deliver(uow).result == "retry"
    (attempt,) = hooks.attempts(delivery_id)
    assert "INDEX_SECRET_KEY" in attempt["error"] and attempt["status_code"] is None
    assert receiver.connections == 0
    assert SECRET not in caplog.text and sealed not in caplog.text
    assert "INDEX_SECRET_KEY" in caplog.text


def test_a_notification_wakes_the_worker_at_once(hooks, receiver, database, service_config):
    webhook = hooks.webhook(receiver.url)
    worker = WebhookWorker(
        lambda: PgUnitOfWork(database, service_config),
        sender(),
        POLICY,
        threads=2,
        wakeups=PgWakeups(database.url),
        poll=30,  # only the notification can wake it in time
    ).start()
    try:
        poll(
            lambda: hooks.sql(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'wharf-index-webhooks'"
                " AND query LIKE 'LISTEN%%'"
            ),
            what="the listener",
        )
        started = time.monotonic()
        (delivery_id,) = hooks.enqueue(webhook)  # commits, then pg_notify
        receiver.wait_for(1, timeout=5)
        assert time.monotonic() - started < 1.0
        assert receiver.ids() == [delivery_id]
    finally:
        assert worker.stop(timeout=10)


def test_the_listener_reconnects_after_the_database_dropped_it(
    hooks, receiver, database, service_config, db_url, caplog
):
    caplog.set_level(logging.INFO)
    webhook = hooks.webhook(receiver.url)
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'wharf-index-webhooks'"
        " AND query LIKE 'LISTEN%%'"
    )
    worker = WebhookWorker(
        lambda: PgUnitOfWork(database, service_config),
        sender(),
        POLICY,
        threads=1,
        wakeups=PgWakeups(database.url),
        poll=30,
    ).start()
    opened = []
    try:
        (before,) = poll(lambda: hooks.sql(listening), what="the listener")
        terminate_sessions(db_url)  # as a PostgreSQL restart does (this fixture's too)
        hooks.sql, conn = _reconnected(db_url)
        opened.append(conn)
        (after,) = poll(
            lambda: [row for row in hooks.sql(listening) if row != before], what="a new listener"
        )
        started = time.monotonic()
        (delivery_id,) = hooks.enqueue(webhook)
        receiver.wait_for(1, timeout=5)
        assert time.monotonic() - started < 1.0
        assert receiver.ids() == [delivery_id]
    finally:
        assert worker.stop(timeout=10)
        for conn in opened:
            conn.close()
    assert "webhook wake-ups: database unavailable" in caplog.text
    assert "webhook wake-ups: listening again" in caplog.text


def _reconnected(db_url: str):
    """``sql(statement, params)`` on a new autocommit connection (the fixture's was cut),
    and that connection."""
    conn = psycopg2.connect(db_url)
    conn.autocommit = True

    def run(statement, params=None):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None

    return run, conn


def test_worker_once_on_the_command_line(hooks, receiver, db_url, capsys):
    webhook = hooks.webhook(receiver.url)
    queued = hooks.enqueue(webhook, 3)
    env = _worker_env(db_url)
    assert cli.main(["worker", "--once", "--threads", "2"], environ=env) == 0
    assert "3 delivery attempts" in capsys.readouterr().out
    assert receiver.ids() == queued
    unreachable = dict(env, INDEX_DATABASE_URL="postgresql://wharf@127.0.0.1:9/none")
    assert cli.main(["worker", "--once"], environ=unreachable) == 1  # cron sees the failure
    assert "0 delivery attempts" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli.main(["worker", "--threads", "0"], environ=env)
    assert exited.value.code == 2
    assert "--threads: must be a whole number >= 1" in capsys.readouterr().err


# -- real worker processes --------------------------------------------------------------------


def _worker_env(db_url: str, **extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH")
    return {
        **{k: os.environ[k] for k in keep if k in os.environ},
        "INDEX_DATABASE_URL": db_url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "INDEX_LOG_FORMAT": "text",
        **extra,
    }


@pytest.fixture
def worker_process(db_url, tmp_path):
    """start(*argv, **env) -> a ``wharf-index worker`` process (killed at the end); its
    output is in ``proc.log_path``."""
    started = []
    script = str(Path(sys.executable).parent / "wharf-index")

    def start(*argv: str, **extra: str) -> subprocess.Popen:
        path = tmp_path / f"worker-{len(started)}.log"
        log = open(path, "wb")  # noqa: SIM115 - kept open
        proc = subprocess.Popen(
            [script, "worker", *argv],
            env=_worker_env(db_url, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((proc, log))
        proc.log_path = path
        return proc

    yield start
    for proc, log in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()


def test_two_worker_processes_deliver_each_delivery_once_in_order(
    hooks, receiver, worker_process, tmp_path
):
    webhooks = [hooks.webhook(f"{receiver.url}/{n}") for n in range(4)]
    queued = {f"/{n}": hooks.enqueue(webhook, 10) for n, webhook in enumerate(webhooks)}
    workers = [worker_process("--threads", "3"), worker_process("--threads", "3")]

    receiver.wait_for(40, timeout=60)
    for proc in workers:  # SIGTERM once running: a clean stop, in-flight attempts recorded
        poll(lambda proc=proc: "webhook worker started" in proc.log_path.read_text())
        proc.send_signal(signal.SIGTERM)
    assert [proc.wait(timeout=20) for proc in workers] == [0, 0]
    assert all("webhook worker stopped" in proc.log_path.read_text() for proc in workers)
    received = receiver.received
    assert len(received) == 40 and all(item.problem is None for item in received)
    for path, ids in queued.items():
        assert [item.delivery_id for item in received if item.path == path] == ids
        assert {hooks.delivery(i)["status"] for i in ids} == {"delivered"}
    logs = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    assert logs.count("HTTP 200") == 40


def test_a_worker_killed_mid_delivery_leaves_it_for_the_next_with_the_same_id(
    hooks, receiver, worker_process
):
    receiver.hold()  # the receiver keeps the first request open
    (delivery_id,) = hooks.enqueue(hooks.webhook(receiver.url))
    first = worker_process("--threads", "1")
    assert receiver.held.wait(20)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert hooks.delivery(delivery_id)["status"] == "pending"  # nothing committed
    assert hooks.attempts(delivery_id) == []

    receiver.release()  # (its answer goes nowhere: that worker is dead)
    second = worker_process("--threads", "1")
    poll(lambda: hooks.delivery(delivery_id)["status"] == "delivered", what="redelivery")
    assert receiver.ids() == [delivery_id, delivery_id]
    assert all(item.problem is None for item in receiver.received)
    assert [a["attempt"] for a in hooks.attempts(delivery_id)] == [1]
    poll(lambda: "webhook worker started" in second.log_path.read_text())
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0


def test_sigterm_lets_the_attempt_in_flight_finish_within_the_timeout(
    hooks, receiver, worker_process
):
    receiver.hold()
    first, second = hooks.enqueue(hooks.webhook(receiver.url), 2)
    proc = worker_process("--threads", "1", INDEX_WEBHOOK_TIMEOUT="20")
    assert receiver.held.wait(20)
    poll(lambda: "webhook worker started" in proc.log_path.read_text())
    proc.send_signal(signal.SIGTERM)
    poll(lambda: "finishing in-flight attempts" in proc.log_path.read_text())
    assert proc.poll() is None  # waiting for the receiver's answer
    receiver.release()
    assert proc.wait(timeout=20) == 0
    assert hooks.delivery(first)["status"] == "delivered"  # recorded before exiting
    assert hooks.delivery(second)["status"] == "pending"  # not started after the signal
    assert receiver.ids() == [first]


def test_sigterm_waits_no_longer_than_the_attempt_timeout(hooks, receiver, worker_process):
    receiver.hold()  # never answers (until released at teardown)
    (delivery_id,) = hooks.enqueue(hooks.webhook(receiver.url))
    proc = worker_process(
        "--threads", "1", INDEX_WEBHOOK_TIMEOUT="2", INDEX_WEBHOOK_CONNECT_TIMEOUT="1"
    )
    assert receiver.held.wait(20)
    poll(lambda: "webhook worker started" in proc.log_path.read_text())
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert time.monotonic() - started < 2 + STOP_GRACE  # the documented bound
    (attempt,) = hooks.attempts(delivery_id)
    assert "INDEX_WEBHOOK_TIMEOUT" in attempt["error"]
    assert hooks.delivery(delivery_id)["status"] == "pending"  # retried later
