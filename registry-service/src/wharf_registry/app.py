"""The Registry's application factory."""

from __future__ import annotations

import re
import time
import uuid
from functools import partial

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from wharf_protocol.client import IndexClient

from . import api, health, metrics, scrape
from .api import search
from .api.converters import RepoNameConverter
from .api.errors import register_error_handlers
from .api.helpers import Services, has_body
from .auth import create_authenticator
from .auth.pull_meter import PullMeter
from .client_networks import check_client_network
from .content import Content
from .content.liveness import Liveness
from .events import Delivery, Emitter, EventSink, NullSink, Outbox, OutboxSink, PullCounter
from .events.delivery import events_client
from .events.emitter import keeps_events, source_addr
from .events.wharf_events import record_gc_run
from .gc import GcOptions, Schedule
from .proxy import Mirror
from .readiness import Readiness
from .settings import ConfigError, Settings, index_tls
from .status import OutboxStatus
from .storage import create_driver
from .storage.base import StorageConfigError, StorageDriver

API_VERSION = "registry/2.0"
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def create_app(
    settings: Settings | None = None,
    *,
    driver: StorageDriver | None = None,
    sink: EventSink | None = None,
    index: IndexClient | None = None,
    deliver_in_background: bool = True,
) -> Flask:
    """Build the Registry WSGI app. Nothing is created at import time.

    ``settings`` defaults to ``Settings.from_env()`` (ConfigError naming every bad variable);
    ``driver``, ``sink`` and ``index`` (the Index client for token verification and event
    delivery) override what the settings would build (tests inject them). With notifications
    to the Index enabled or notification endpoints configured, events go to the storage outbox
    and delivery threads (one per consumer) start in each process on its first request, unless
    ``deliver_in_background`` is False (tests drive ``app.extensions["registry"].delivery``
    themselves); pull events are counted by a PullCounter whose flusher thread starts the same
    way (``.pulls``). With neither, events are dropped (NullSink). With REGISTRY_GC_INTERVAL
    set, a garbage collection thread (``app.extensions["gc_schedule"]``) starts the same way.
    """
    settings = settings or Settings.from_env()
    if settings.problems():
        raise ConfigError(settings.problems())
    driver = driver or _driver(settings)
    delivery = pulls = None
    if sink is None and keeps_events(settings):
        outbox = Outbox(driver)
        sink = OutboxSink(outbox)
        pulls = PullCounter(
            sink,
            interval=settings.events_pull_flush_interval,
            max_keys=settings.events_pull_flush_keys,
            max_backoff=settings.notifications_max_backoff,
        )
        delivery = Delivery(
            outbox,
            (index or _events_client(settings)) if settings.notifications_enabled else None,
            endpoints=settings.active_endpoints,
            batch=settings.notifications_batch,
            interval=settings.notifications_interval,
            max_backoff=settings.notifications_max_backoff,
        )
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SETTINGS=settings, MAX_CONTENT_LENGTH=None, DELIVER_IN_BACKGROUND=deliver_in_background
    )
    source = source_addr(settings)
    content = Content(
        driver,
        manifest_max_size=settings.manifest_max_size,
        liveness=Liveness(driver, settings.gc_touch_after, settings.gc_push_deadline),
    )
    app.extensions["registry"] = Services(
        settings=settings,
        content=content,
        mirror=Mirror(settings, content) if settings.proxy_upstreams else None,
        auth=create_authenticator(settings, index or _verify_client(settings)),
        events=Emitter(
            sink or NullSink(),
            source_addr=source,
            pulls=pulls,
            to_index=bool(settings.notifications_enabled),
        ),
        delivery=delivery,
        pulls=pulls,
        pull_meter=PullMeter(settings.token_cache_size),
        readiness=Readiness(
            driver,
            index or _ping_client(settings),
            ttl=settings.readyz_cache,
            token_auth=settings.auth == "token",
            writes=not settings.read_only or delivery is not None,  # the outbox writes
        ),
        outbox_status=OutboxStatus(driver, events=delivery is not None),
    )
    if settings.trusted_proxies:  # the client address events report (request.addr)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)
    if settings.gc_interval:
        app.extensions["gc_schedule"] = Schedule(
            driver,
            GcOptions.from_settings(settings),
            settings.gc_interval,
            record=partial(record_gc_run, driver=driver, settings=settings),
            events=app.extensions["registry"].events,
        )
    app.url_map.converters["repo"] = RepoNameConverter
    app.url_map.strict_slashes = False
    app.before_request(_start_request)
    app.after_request(_finish_response)
    if settings.metrics:
        app.extensions["registry.metrics"] = metrics.StorageCollector(
            driver, events=delivery is not None
        )
        app.before_request(_start_metrics)
        app.after_request(_count_response)
        app.teardown_request(_end_metrics)
        app.register_blueprint(scrape.bp)
    if settings.allowed_networks:  # after the request id and metrics: refusals are counted
        app.before_request(check_client_network)
    register_error_handlers(app)
    app.register_blueprint(api.bp, url_prefix="/v2")
    app.register_blueprint(search.bp)
    app.register_blueprint(health.bp)
    return app


def _driver(settings: Settings) -> StorageDriver:
    try:
        return create_driver(settings.storage_driver, settings.storage_params)
    except StorageConfigError as exc:
        prefix = f"REGISTRY_STORAGE_{settings.storage_driver.upper()}_*"
        raise ConfigError([f"{prefix}: {exc}"]) from None


def _verify_client(settings: Settings) -> IndexClient | None:
    """Return the client for remote token verification: short timeouts, one retry."""
    if not (settings.index_url and settings.index_name and settings.index_credential):
        return None
    return IndexClient(
        settings.index_url,
        settings.index_name,
        settings.index_credential,
        timeout=(3.05, 5.0),
        retries=1,
        backoff=0.1,
        **index_tls(settings),
    )


def _ping_client(settings: Settings) -> IndexClient | None:
    """Return the client readiness checks the Index with: short timeouts, no retry (a probe
    answers within about 2 s)."""
    if not (settings.index_url and settings.index_name and settings.index_credential):
        return None
    return IndexClient(
        settings.index_url,
        settings.index_name,
        settings.index_credential,
        timeout=(1.0, 1.4),
        retries=0,
        **index_tls(settings),
    )


def _events_client(settings: Settings) -> IndexClient:
    return events_client(
        settings.index_url or "",
        settings.index_name or "",
        settings.index_credential or "",
        **index_tls(settings),
    )


def _start_request() -> None:
    """Accept a sane ``X-Request-ID`` from the caller or make one; start event delivery and
    the pull counter's flusher.

    Under gunicorn, bound every blocking read and write of this request's socket by
    REGISTRY_HTTP_BODY_TIMEOUT: a client that declares a body and stops sending (or stops
    reading a download) would otherwise hold a worker thread forever. The read then fails,
    and the upload is dropped as for a client that disconnected.
    """
    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(current_app.extensions["registry"].settings.http_body_timeout)
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
    services = current_app.extensions["registry"]
    if current_app.config["DELIVER_IN_BACKGROUND"]:
        schedule = current_app.extensions.get("gc_schedule")
        for background in (services.delivery, services.pulls, schedule):
            if background is not None:
                background.ensure_started()


def _finish_response(response: Response) -> Response:
    """Echo the request id; announce the API version on every response."""
    response.headers["X-Request-ID"] = g.get("request_id", "")
    response.headers["Docker-Distribution-API-Version"] = API_VERSION
    return response


# Requests whose body is an upload's data (uploads in flight while it is received).
_UPLOAD_ENDPOINTS = frozenset({"v2.start_upload", "v2.patch_upload", "v2.finish_upload"})
# Responses whose body is content (bytes sent), and what kind.
_CONTENT_ENDPOINTS = {"v2.get_blob": "blob", "v2.get_manifest": "manifest"}


def _start_metrics() -> None:
    """Note the start time; count an upload body in flight until the request ends."""
    g.metrics_started = time.perf_counter()
    if request.endpoint in _UPLOAD_ENDPOINTS and has_body():
        metrics.upload_started()
        g.metrics_upload = True


def _count_response(response: Response) -> Response:
    """Count the response by route template, method and status; bytes of content sent."""
    started = g.get("metrics_started")
    rule = request.url_rule
    route = rule.rule if rule is not None else "unmatched"
    elapsed = time.perf_counter() - started if started is not None else 0.0
    metrics.request_served(route, request.method, response.status_code, elapsed)
    kind = _CONTENT_ENDPOINTS.get(request.endpoint)
    if kind and request.method == "GET" and response.status_code in (200, 206):
        # send_file and the streamed bodies declare their length: count it, not reads
        metrics.bytes_sent(kind, response.content_length or 0)
    return response


def _end_metrics(_exc: BaseException | None) -> None:
    if g.pop("metrics_upload", False):
        metrics.upload_ended()
