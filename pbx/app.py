"""`pbx run`: one process hosting the SIP edge supervisor, the engine and the HTTP API.

Each part can be switched off by configuration (engine_enabled, edge_supervise) so
that several engine nodes and one edge run apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from pbx.billing.catalogue import resolve
from pbx.config import Settings
from pbx.engine.calls import CallManager
from pbx.engine.carriers import REFRESH, CarrierTrust
from pbx.engine.events import EngineEvent, Registration, TrunkRegistration
from pbx.engine.routing import Router
from pbx.errors import PbxError
from pbx.infra import ensure_services
from pbx.logging import get_logger, setup_logging
from pbx.services.export import add_export_routes
from pbx.sip.guard import SourceGuard
from storage.alerts import VoicemailStore
from storage.cdr import PgCallRecords
from storage.channels import LEASE, RedisChannelLeases
from storage.db import create_pool, migrate
from storage.directory import PgDirectory
from storage.live import RedisLiveBoard
from storage.presence import EVENTS, RedisPresence, RedisTrunkStates
from storage.queues import RedisQueueStore, next_dial
from storage.recordings import RecordingStore
from storage.scenarios import PgScenarios

log = get_logger(__name__)

CALLBACK_PERIOD = 2.0  # seconds between looks at the queues' callback entries
RETENTION_PERIOD = 3600.0  # seconds between retention sweeps of call recordings


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.redis: aioredis.Redis | None = None
        self.edge: Any = None
        self.adapter: Any = None
        self.calls: CallManager | None = None
        self.trunks: dict[int, TrunkRegistration] = {}
        self.carriers: CarrierTrust | None = None
        self._runner: web.AppRunner | None = None
        self.bot: Any = None
        self.notifications: Any = None
        self._tasks: set[asyncio.Future[Any]] = set()

    async def start(self) -> None:
        s = self.settings
        # A broken plan catalogue stops the start, naming its line.
        if s.signup_plan not in ("", "none", *resolve(s.catalogue).plans):
            raise PbxError(f"PBX_SIGNUP_PLAN={s.signup_plan!r} is not a plan of {s.catalogue}")
        await asyncio.to_thread(ensure_services, s)
        self.pool = await create_pool(s.dsn, max_size=20)
        async with self.pool.acquire() as conn:
            applied = await migrate(conn)
        if applied:
            log.info("migrations_applied", files=applied)
        if not s.edge_secret:
            secret = await self.pool.fetchval("SELECT secret FROM edge_secret")
            s = self.settings = s.model_copy(update={"edge_secret": secret})
        self.redis = aioredis.from_url(s.redis_dsn)
        await self.redis.ping()
        # The engine first: Kamailio's dispatcher probes it as soon as it starts.
        if s.engine_enabled:
            await self._start_engine()
        if s.edge_supervise:
            from pbx.edge.config import sync_trusted_engines
            from pbx.edge.supervisor import KamailioSupervisor

            async with self.pool.acquire() as conn:
                await sync_trusted_engines(conn, s)
            self.edge = KamailioSupervisor(s, s.dsn)
            await self.edge.start()
        await self._start_http()
        log.info("service_started", http=f"{s.http_host}:{s.http_port}")

    async def _start_engine(self) -> None:
        from pbx.sip.adapter import SippyAdapter
        from pbx.sip.patches import EdgeTrust

        s = self.settings
        assert self.pool is not None
        rtp_args = [
            f"-l{s.engine_advertise or s.engine_host}",
            f"-m{s.rtp_port_min}",
            f"-M{s.rtp_port_max}",
            "-dWARN",
            "-F",
        ]
        edge_sockets = {(s.edge_advertise or s.edge_host, s.edge_port), (s.edge_host, s.edge_port)}
        assert s.edge_secret
        guard = (
            SourceGuard(frozenset(h for h, _ in edge_sockets), rate=s.engine_source_rate)
            if s.engine_source_filter
            else None
        )
        self.adapter = SippyAdapter(
            s.engine_host,
            s.engine_port,
            rtp_args,
            s.run_dir / "engine",
            sip_log=s.sip_log,
            edge=EdgeTrust(frozenset(edge_sockets), s.edge_secret),
            guard=guard,
        )
        directory = PgDirectory(self.pool)
        if guard is not None:
            self.carriers = CarrierTrust(directory, guard, self.adapter.resolver.address)
        router = Router(
            directory,
            edge_sockets=edge_sockets,
            edge_proxy=(s.edge_advertise or s.edge_host, s.edge_port),
        )
        node = f"{s.engine_host}:{s.engine_port}"
        self.calls = CallManager(
            self.adapter,
            router,
            PgCallRecords(self.pool, node),
            no_answer_timeout=s.no_answer_timeout,
            presence=RedisPresence(self.redis) if self.redis is not None else None,
            scenarios=PgScenarios(self.pool, self.redis, s, VoicemailStore(self.pool, s)),
            queue_store=RedisQueueStore(self.redis) if self.redis is not None else None,
            recording=RecordingStore(self.pool, s.data_dir),
            live=RedisLiveBoard(self.redis) if self.redis is not None else None,
            channels=RedisChannelLeases(self.redis) if self.redis is not None else None,
        )
        if self.carriers is not None:
            self.carriers.attach()
        await self.adapter.start(self._on_engine_event)
        await self.register_trunks()
        if self.carriers is not None:
            self._background(self._every(REFRESH, "carrier_refresh", self.carriers.refresh))
        self._background(self._listen_events())
        self._background(self._serve_dial_requests())
        self._background(self._dispatch_callbacks())
        self._background(self._every(LEASE / 3, "channel_renew", self.calls.channels.renew))
        self._background(self._every(RETENTION_PERIOD, "retention_sweep", self._sweep_retention))
        self._background(self._every(RETENTION_PERIOD, "statements_close", self._close_statements))

    def _on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, TrunkRegistration):
            self.trunks[event.trunk_id] = event
            log.info("trunk_registration", trunk=event.trunk_id, ok=event.ok, status=event.status)
            if self.redis is not None:
                self._background(
                    RedisTrunkStates(self.redis).put(event.trunk_id, event.ok, event.status)
                )
            return
        assert self.calls is not None
        self.calls.on_event(event)

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen_events(self) -> None:
        """Config changes from any node (e.g. a trunk added in the bot) reach this engine;
        a lost Redis connection is re-established."""
        assert self.redis is not None
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(EVENTS)
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and message.get("data") in (
                            b"trunks",
                            "trunks",
                        ):
                            await self.register_trunks()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("event_listener_failed", error=repr(exc))
                await asyncio.sleep(1.0)  # back off before reconnecting

    async def _serve_dial_requests(self) -> None:
        """Calls asked for from the bot ("call back"): one engine node takes each."""
        assert self.redis is not None and self.calls is not None
        while True:
            try:
                req = await next_dial(self.redis, timeout=1.0)
                if req is not None:
                    await self.calls.dialout.start(req)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("dial_request_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _dispatch_callbacks(self) -> None:
        """Queue callbacks whose turn has come, every couple of seconds."""
        assert self.calls is not None
        while True:
            try:
                await self.calls.queues.dispatch_callbacks()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("callback_dispatch_failed", error=repr(exc))
            await asyncio.sleep(CALLBACK_PERIOD)

    async def _every(self, period: float, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """A periodic job that survives its own failures (logged)."""
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error(f"{name}_failed", error=repr(exc))
            await asyncio.sleep(period)

    async def _sweep_retention(self) -> None:
        """Recordings past their company's retention go (every node may do it: the
        DELETE decides which rows are whose)."""
        assert self.pool is not None
        store = RecordingStore(self.pool, self.settings.data_dir)
        swept = await store.sweep_retention(datetime.now(UTC))
        if swept.deleted:
            log.info("retention_swept", files=swept.deleted, bytes=swept.freed)

    async def _close_statements(self) -> None:
        """Last month's statements are frozen once the month is over (idempotent: the
        primary key keeps one per company and month whichever node writes it)."""
        from pbx.services.cabinet import Cabinet

        assert self.pool is not None
        closed = await Cabinet(self.pool, self.settings).close_months()
        if closed:
            log.info("statements_closed", count=closed)

    async def register_trunks(self) -> None:
        """REGISTER to every carrier trunk that authenticates by registration (and let
        every trunk's carrier through the engine's source guard)."""
        assert self.pool is not None and self.adapter is not None
        if self.carriers is not None:
            await self.carriers.refresh()
        rows = await self.pool.fetch(
            """SELECT id, host, port, username, password, COALESCE(from_domain, host) AS domain,
                      expires
                 FROM trunks WHERE enabled AND auth_mode = 'register'"""
        )
        for r in rows:
            await self.adapter.register(
                Registration(
                    r["id"],
                    r["host"],
                    r["port"],
                    r["username"],
                    r["password"],
                    r["domain"],
                    r["expires"],
                )
            )

    async def _start_http(self) -> None:
        app = web.Application()
        app.router.add_get("/status", self._http_status)
        app.router.add_get("/metrics", self._http_metrics)
        add_export_routes(app, self.settings)
        if self.settings.telegram_token:
            from bot.app import BotRunner
            from pbx.services.cabinet import Cabinet

            assert self.pool is not None and self.redis is not None
            cabinet = Cabinet.with_redis(self.pool, self.settings, self.redis)
            self.bot = BotRunner(self.settings, cabinet)
            self.bot.register(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        if self.bot is not None:
            await self.bot.start()
        if self.settings.outbox_enabled:
            from notifications.service import start_worker

            # Alerts wait in PostgreSQL until a node with the channel delivers them.
            assert self.pool is not None
            bot = self.bot.bot if self.bot is not None else None
            self.notifications = await start_worker(self.settings, self.pool, bot)

    async def _http_status(self, request: web.Request) -> web.Response:
        report = await self.status()
        return web.json_response(report, status=200 if report["healthy"] else 503)

    async def _http_metrics(self, request: web.Request) -> web.Response:
        return web.json_response(await self.metrics())

    async def metrics(self) -> dict[str, Any]:
        """Figures the benchmarks read: setup delay, live calls, relay counters."""
        if self.adapter is None or self.calls is None:
            return {}
        delays = sorted(self.adapter.setup_delays)

        def pct(q: float) -> float | None:
            return (
                round(delays[min(len(delays) - 1, int(q * len(delays)))] * 1000, 3)
                if delays
                else None
            )

        per_second: dict[int, int] = {}
        for t in self.adapter.setup_times:
            per_second[int(t)] = per_second.get(int(t), 0) + 1
        return {
            "active_calls": len(self.calls.calls),
            # Calls the SIP layer still holds (UAs, relay sessions): 0 once all have ended.
            "sip_calls": len(self.adapter.calls),
            # Datagrams the engine's source guard dropped unread (pbx/sip/guard.py).
            "sip_dropped": dataclasses.asdict(guard.counts)
            if (guard := self.adapter.guard)
            else {},
            "calls_per_s_peak": max(per_second.values(), default=0),
            "setup_delay_ms": {
                "count": len(delays),
                "p50": pct(0.50),
                "p95": pct(0.95),
                "max": pct(1.0),
            },
            "relay": await self.adapter.relay_stats() if self.adapter.alive else {},
        }

    async def status(self) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        try:
            assert self.pool is not None
            await self.pool.fetchval("SELECT 1")
            parts["postgres"] = {"ok": True}
        except Exception as exc:
            parts["postgres"] = {"ok": False, "error": str(exc)}
        try:
            assert self.redis is not None
            await self.redis.ping()
            parts["redis"] = {"ok": True}
        except Exception as exc:
            parts["redis"] = {"ok": False, "error": str(exc)}
        if self.edge is not None:
            edge = dict(self.edge.status())
            parts["kamailio"] = {"ok": bool(edge.get("running")), **edge}
        if self.adapter is not None and self.calls is not None:
            parts["engine"] = {
                "ok": bool(self.adapter.alive),
                "active_calls": len(self.calls.calls),
                "error": self.adapter.death_reason,
            }
            parts["trunks"] = {
                str(t.trunk_id): {"registered": t.ok, "status": t.status}
                for t in self.trunks.values()
            }
        healthy = all(p.get("ok", True) for p in parts.values())
        return {"healthy": healthy, **parts}

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.notifications is not None:
            await self.notifications.stop()
        if self.bot is not None:
            await self.bot.stop()
        if self.calls is not None:
            self.calls.stopping = True
        if self.adapter is not None:
            await self.adapter.stop()
        if self.calls is not None:
            await self.calls.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.edge is not None:
            await self.edge.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if self.pool is not None:
            await self.pool.close()


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = Service(settings)
    try:
        await service.start()
        await stop.wait()
    finally:
        log.info("service_stopping")
        await service.stop()


def run(settings: Settings) -> None:
    setup_logging(settings.log_level, settings.log_json)
    try:
        asyncio.run(serve(settings))
    except PbxError as exc:
        raise SystemExit(f"error: {exc}") from exc


def status_report(settings: Settings) -> dict[str, Any]:
    """Ask the running service; if it does not answer, say so."""

    async def fetch() -> dict[str, Any]:
        url = f"http://{settings.http_host}:{settings.http_port}/status"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
                http.get(url) as resp,
            ):
                return dict(json.loads(await resp.text()))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return {"healthy": False, "service": {"ok": False, "error": f"not running ({exc})"}}

    return asyncio.run(fetch())
