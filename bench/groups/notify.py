"""`notify`: notifications through a real Celery worker to a local SMS gateway.

A prefork worker (`celery worker -c 2 --pool prefork`) runs as its own
process group against Redis and the bench database; a small HTTP gateway
in this process accepts every SMS at once (200 with a message id) and
notes when each arrived. `bench/notify_driver.py`, in a process of its own
with the production settings, calls `notify()` the way a request does:

1. warm-up: 20 messages, so the worker has imported, connected and sent once;
2. burst: 1,000 notifications written in one transaction (a bulk change),
   all handed to Celery at its commit. `notify.delivered_per_s` is
   1,000 / (last of them reaching the gateway - the commit);
3. paced: 500 notifications, one transaction each, at 50/s (half the
   throughput target, so the figure is the pipeline's latency rather than
   the backlog's). `notify.p50_to_sending_ms` is the median time from a
   commit to the row's first `sending` event, i.e. the worker's claim.

Targets: >= 100 delivered/s, p50 <= 200 ms. Redis is REDIS_URL, else
redis://127.0.0.1:6379/0; the tasks go to a queue of the run's own. The
database is DATABASE_URL when set (created if missing, migrated), else a
SQLite file `var/bench/notify.sqlite3`, migrated. The whole group is
bounded: 60 s per phase, and the worker is stopped (SIGTERM, then SIGKILL)
however the group ends. Its log is `var/bench/notify-worker.log`
(`BENCH_WORKER_LOGLEVEL=INFO` adds each task's run time).

`cpu_other_pct` counts every process that is not the bench's own child:
with PostgreSQL that includes the database server's backends (about a
quarter of the CPU here), so it is not by itself a sign of a busy machine;
`cpu_busy_before_pct` is.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import cpu
from bench import database as databases
from bench.core import (
    BenchError,
    Context,
    Database,
    group,
    log,
    percentile,
    run_driver,
    var_dir,
    verdict,
    without_password,
)
from bench.worker import celery_worker

DELIVERED_TARGET = 100.0  # messages per second
P50_TARGET_MS = 200.0
WARMUP = 20
BURST = 1000
PACED = 500
PACED_RATE = 50.0  # per second
PHASE_TIMEOUT_S = 60
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
WORKER_CONCURRENCY = 2


@group("notify")
def notify(ctx: Context) -> None:
    env, database = _environment(ctx)
    _check_redis(env["REDIS_URL"])
    _migrate(ctx, env, database)
    busy = cpu.busy_percent()
    if busy is not None and busy > 10:
        log(f"the machine is busy: {busy:.0f} % of the CPU in use before the bench")
    usage = cpu.OtherUsage.start()
    log_path = ctx.output.parent / "notify-worker.log"
    queue = env["BENCH_CELERY_QUEUE"]
    with Gateway() as gateway:
        env["SMS_GATEWAY_URL"] = gateway.url
        log(
            f"celery worker (prefork, {WORKER_CONCURRENCY} processes), queue {queue}, "
            f"log {log_path}"
        )
        with celery_worker(
            env,
            log_path,
            app="bench.notify_celery",
            queue=queue,
            name=f"{queue}@%h",
            concurrency=WORKER_CONCURRENCY,
            startup_check_s=0.5,
        ):
            result = _drive(env)
        arrivals = gateway.arrivals()
    _delete_queue(env["REDIS_URL"], env["BENCH_CELERY_QUEUE"])
    other = usage.percent() if usage else None

    # This group's own database, broker and CPU figures replace the run's in its lines.
    with ctx.own_figures(
        database=database.vendor,
        database_url=database.url,
        cache="redis",
        broker=without_password(env["REDIS_URL"]),
        cpu_busy_before_pct=round(busy, 1) if busy is not None else None,
        cpu_other_pct=round(other, 1) if other is not None else None,
    ):
        _report(ctx, result, arrivals)
    if other is not None and other > 10:
        log(f"other processes took {other:.0f} % of the CPU during the bench: run again")


def _report(ctx: Context, result: dict, arrivals: dict[str, list[float]]) -> None:
    burst, paced = result["burst"], result["paced"]
    missing = [pk for pk in burst["ids"] + paced["ids"] if str(pk) not in arrivals]
    if missing:
        raise BenchError(f"{len(missing)} messages never reached the gateway")
    duplicates = sum(len(times) - 1 for times in arrivals.values())
    last = max(arrivals[str(pk)][0] for pk in burst["ids"])
    elapsed = last - burst["commit_at"]
    delivered_per_s = len(burst["ids"]) / elapsed if elapsed > 0 else 0.0
    to_sending = sorted(paced["to_sending_ms"])
    to_gateway = sorted((arrivals[pk][0] - at) * 1000 for pk, at in paced["commit_at"].items())
    p50 = statistics.median(to_sending)
    worker = f"celery prefork -c {WORKER_CONCURRENCY}"

    delivered_met = delivered_per_s >= DELIVERED_TARGET
    ctx.emit(
        "notify.delivered_per_s",
        delivered_per_s,
        "msg/s",
        messages=len(burst["ids"]),
        seconds=round(elapsed, 3),
        duplicates_at_gateway=duplicates,
        burst_p50_to_sending_ms=round(statistics.median(burst["to_sending_ms"]), 1),
        target=DELIVERED_TARGET,
        target_met=delivered_met,
        worker=worker,
    )
    p50_met = p50 <= P50_TARGET_MS
    ctx.emit(
        "notify.p50_to_sending_ms",
        p50,
        "ms",
        messages=len(to_sending),
        offered_per_s=round(paced["rate"], 1),
        p90_ms=round(percentile(to_sending, 90), 1),
        p99_ms=round(percentile(to_sending, 99), 1),
        p50_to_gateway_ms=round(statistics.median(to_gateway), 1),
        target=P50_TARGET_MS,
        target_met=p50_met,
        worker=worker,
    )
    log(
        f"notify.delivered_per_s {delivered_per_s:.0f} (target >= {DELIVERED_TARGET:.0f} "
        f"{verdict(delivered_met)}), notify.p50_to_sending_ms {p50:.1f} at "
        f"{paced['rate']:.0f}/s (target <= {P50_TARGET_MS:.0f} {verdict(p50_met)}), "
        f"{ctx.common['database']}"
    )
    if duplicates:
        raise BenchError(f"the gateway received {duplicates} duplicate messages")


# --- Set-up ----------------------------------------------------------------------------------


def _environment(ctx: Context) -> tuple[dict[str, str], Database]:
    env = dict(ctx.env)
    if not (env.get("DATABASE_URL") or "").strip():
        path = var_dir(env) / "bench" / "notify.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{path}"
    env["REDIS_URL"] = (env.get("REDIS_URL") or "").strip() or DEFAULT_REDIS_URL
    env.pop("CELERY_BROKER_URL", None)  # the broker is REDIS_URL, as in production
    env.update(
        {
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "BENCH_CELERY_QUEUE": f"bench-notify-{uuid.uuid4().hex[:8]}",
            "SMS_BACKEND": "notifications.sms.http.HttpGatewayBackend",
            "SMS_GATEWAY_URL": "http://127.0.0.1:9/unset",  # replaced once the gateway listens
            "SMS_GATEWAY_API_KEY": "bench-key",
            "SMS_RECEIPT_SECRET": "bench-receipt-secret",
            "EMAIL_URL": "consolemail://",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env, Database.from_env(env)


def _check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as e:
        raise BenchError(f"the notify group needs Redis at {without_password(url)}: {e}") from e


def _migrate(ctx: Context, env: dict[str, str], database: Database) -> None:
    log(f"database: {database.url}")
    databases.ensure_exists(env, database)
    ctx.manage("migrate", "--no-input", "-v", "0", env=env)


# --- The queue ----------------------------------------------------------------------------------


def _delete_queue(url: str, queue: str) -> None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()
    except redis.RedisError as e:
        log(f"could not remove the bench queue {queue}: {e}")


# --- The driver ---------------------------------------------------------------------------------


def _drive(env: dict[str, str]) -> dict:
    log(f"notify: {WARMUP} warm-up, {BURST} in one transaction, {PACED} at {PACED_RATE:.0f}/s")
    budget = 3 * PHASE_TIMEOUT_S + PACED / PACED_RATE + 60
    return run_driver(
        "bench.notify_driver",
        "--warmup",
        str(WARMUP),
        "--burst",
        str(BURST),
        "--paced",
        str(PACED),
        "--rate",
        str(PACED_RATE),
        "--timeout",
        str(PHASE_TIMEOUT_S),
        env=env,
        label="the notify driver",
        timeout_s=budget,
    )


# --- The gateway ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: a burst never meets a refused connection


class Gateway:
    """Accepts every SMS at once and notes when each message (by our reference) arrived."""

    def __init__(self) -> None:
        self._arrivals: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = 0

    def __enter__(self) -> Gateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    reference = str(json.loads(body)["reference"])
                except (ValueError, KeyError, TypeError):
                    self.send_error(400)
                    return
                with gateway._lock:
                    gateway._arrivals.setdefault(reference, []).append(at)
                    gateway._ids += 1
                    answer = json.dumps({"message_id": f"bench-{gateway._ids}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/messages"

    def arrivals(self) -> dict[str, list[float]]:
        with self._lock:
            return {reference: sorted(times) for reference, times in self._arrivals.items()}
