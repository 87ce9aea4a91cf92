"""`payments`: signed sandbox webhooks over HTTP, deciding them in a Celery worker, idempotency,
the payment receipt PDF.

The group has a database of its own (`imigrasi_bench_payments` on the
server of DATABASE_URL when that is PostgreSQL, else on
postgres@127.0.0.1:5432; BENCH_PAYMENTS_DATABASE_URL names another). Every
run consumes bills (they end paid), so the database is made afresh each run
from a migrated template (`imigrasi_bench_payments_template`, `migrate` and
`seed_demo`, rebuilt when a migration file changes or with
BENCH_PAYMENTS_RESEED=1) with CREATE DATABASE ... TEMPLATE (about a second),
then seeded with bulk_create: 6,000 applications awaiting payment, each
with its unpaid bill, its status events and its citizen (3,000 citizens with
a verified mobile number, so the SMS of the payment is written as in
production), and the 36,000 messages those status events sent, then
ANALYZE (the bench's PostgreSQL runs without autovacuum: an empty,
analysed notifications table misleads the planner for the whole run).

The endpoint verifies, stores and acknowledges; the decision runs in the
Celery task `payments.tasks.process_webhook`. The group has two phases:

1. HTTP. gunicorn serves it as in `applications` (3 sync workers,
   production settings, Redis cache) with Celery NOT eager: the broker is a
   Redis database of the bench's own (redis://127.0.0.1:6379/13,
   BENCH_PAYMENTS_BROKER_URL; the cache is redis://127.0.0.1:6379/12,
   BENCH_PAYMENTS_REDIS_URL), both emptied before and after the run, and no
   worker runs: every notification is acknowledged and its task queued.
   The load is wrk (one thread, `--connections`, a Lua script reading the
   pre-signed requests from files) when the run's tool is wrk, else
   `--connections` client threads in this process: a sequence of unique paid
   notifications, one per bill, with 30 % duplicates of events already handed
   out (half of them among the last few, so they can race their original,
   half from anywhere earlier). `--warmup` seconds are sent first and not
   counted, then `--duration` seconds are measured.
2. Deciding. gunicorn is stopped, then a real worker (`celery -A
   bench.payments_celery worker --pool=prefork --concurrency=2 -Q celery`,
   the server's environment) takes the queued process_webhook messages until
   no stored event is left `received`. `bench.payments_celery` is the
   project's app with one routing rule: what the worker publishes itself
   (receipt PDF, notification sends) goes to a parking queue nobody
   consumes, so the worker only decides events and the parked tasks can be
   counted.

- `webhook.per_s`: notifications answered per second in the measured part
  (unique and duplicate). Every answer must be 200 with `received` or
  `duplicate` (`applied` accepted). Target >= 200.
- `webhook.settled_per_s`: events decided per second by the worker (first
  to last decision, from the rows' processed_at). Informational, no target.
- `webhook.duplicate_effects`: once every event is decided, in a Django
  process of its own, the effects beyond one per unique event: settled
  payments, paid bills, events to paid, their notifications, applied webhook
  rows and queued receipt tasks beyond one per bill, plus any held payment.
  For a sample of bills the parked receipt tasks are then run as a worker
  would, once more as a redelivery, and the `payment.paid` messages and
  receipts beyond one per bill are added. Every stored event must be
  applied, its bill paid. Target 0.
- `payment_receipt_pdf.median_ms`: `payments.receipts.payment_receipt_pdf`
  of a bill paid by the webhook, after one warm-up render, 20 renders, the
  median. Target <= 150.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import http.client
import itertools
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import cpu, load, seeding
from bench import database as databases
from bench.core import (
    BASE_DIR,
    BenchError,
    Context,
    Database,
    env_flag,
    group,
    log,
    percentile,
    run_driver,
    verdict,
    without_password,
)
from bench.server import Gunicorn, has_exited, tail
from bench.worker import celery_worker

DATABASE_NAME = "imigrasi_bench_payments"
TEMPLATE_NAME = "imigrasi_bench_payments_template"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"  # cache and sessions, flushed each run
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"  # Celery's queue, emptied before and after
TEMPLATE_VERSION = 2
BILLS = 6_000  # applications awaiting payment, each with its unpaid bill
CITIZENS = 3_000
RANDOM_SEED = 2027
DUPLICATE_SHARE = 0.3
RECENT_SHARE = 0.5  # of the duplicates: among the last events handed out (racing the original)
RECEIPT_RENDERS = 20
RECEIPT_SAMPLE = 5  # bills whose queued receipt tasks are run, plus a redelivery

# The worker that decides the queued events (phase 2).
DECIDE_TASK = "payments.tasks.process_webhook"
DECIDE_QUEUE = "celery"  # Celery's default queue: where receive() publishes process_webhook
PARKED_QUEUE = "bench.payments.parked"  # what the worker publishes itself; nobody consumes it
WORKER_APP = "bench.payments_celery"
WORKER_CONCURRENCY = 2
DECIDE_TIMEOUT_S = 600.0  # all queued events decided within this, else the group fails
DRAIN_TIMEOUT_S = 30.0  # then the remaining (duplicate) messages taken within this
POLL_S = 0.2

WEBHOOK_TARGET_PER_S = 200.0
RECEIPT_TARGET_MS = 150.0
DUPLICATE_EFFECTS_TARGET = 0

WEBHOOK_PATH = "/pembayaran/webhook/sandbox/"
ACCEPTED_WORDS = {"received", "duplicate", "applied"}  # 200 answers (applied: tasks eager)
METHODS = ["va_bri", "va_bni", "va_mandiri", "va_bca", "qris", "card"]
NTPN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
# The requests of the wrk client (put before bench/wrk_report.lua).
WRK_REQUESTS = Path(__file__).resolve().parent.parent / "wrk_payments.lua"


@group("payments")
def payments(ctx: Context) -> None:
    env, database = _environment(ctx)
    with tempfile.TemporaryDirectory(prefix="bench-payments-") as tmp:
        seeded_path = Path(tmp) / "seeded.json"
        _prepare(ctx, env, database)
        log(f"payments: seeding {BILLS:,} applications awaiting payment, each with its bill")
        started = time.monotonic()
        seeded = _driver(env, "seed", seeded_path, timeout_s=300)
        bills = json.loads(seeded_path.read_text(encoding="utf-8"))["bills"]
        log(
            f"payments: seeded {seeded['applications']:,} applications and bills of "
            f"{seeded['citizens']:,} citizens, {seeded['notifications']:,} past notifications "
            f"in {time.monotonic() - started:.0f} s"
        )
        with ctx.own_figures(
            database=database.vendor,
            database_url=database.url,
            cache="redis",
            broker=without_password(env["CELERY_BROKER_URL"]),
            celery_eager=False,
        ):
            rng = random.Random(RANDOM_SEED)
            events = _events(bills, rng)
            sequence = _sequence(len(events), rng, recent_window=2 * ctx.options.connections)
            http_run = _serve_and_send(ctx, env, events, sequence, Path(tmp))
            decided = _decide(ctx, env)
            sent_path = Path(tmp) / "sent.json"
            sent = {
                "events": {e.event_id: e.bill_id for e in events},
                "issued": sorted(
                    {events[sequence[p][0]].event_id for p in range(http_run.positions)}
                ),
                "answered": sorted(events[i].event_id for i in http_run.answered or ()),
            }
            sent_path.write_text(json.dumps(sent), encoding="utf-8")
            log("payments: counting effects and timing the receipt PDF, in-process")
            verified = _driver(env, "verify", sent_path, timeout_s=300)
            _report(ctx, http_run, decided, verified)


# --- The database ------------------------------------------------------------------------------


def _environment(ctx: Context) -> tuple[dict[str, str], Database]:
    env = databases.group_environment(ctx.env, DATABASE_NAME, "BENCH_PAYMENTS_DATABASE_URL")
    # Redis databases of the bench's own: the cache (flushed at the seed) and the broker.
    env["REDIS_URL"] = (env.get("BENCH_PAYMENTS_REDIS_URL") or "").strip() or DEFAULT_REDIS_URL
    env["CELERY_BROKER_URL"] = (
        env.get("BENCH_PAYMENTS_BROKER_URL") or ""
    ).strip() or DEFAULT_BROKER_URL
    # Tasks are queued, not run in the request: the HTTP phase measures the acknowledgement.
    env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    env["PAYMENT_GATEWAY"] = "sandbox"
    env["SANDBOX_WEBHOOK_SECRET"] = secrets.token_hex(32)  # the bench signs with it too
    env["BENCH_PAYMENTS_PARKED_QUEUE"] = PARKED_QUEUE  # read by bench.payments_celery
    env.pop("SANDBOX_WEBHOOK_URL", None)
    return env, databases.require_postgresql(env, "payments")


def _signature() -> str:
    """What the template depends on: its version and the schema (every migration file, its
    name and its text: a migration edited in place changes the schema too)."""
    schema = hashlib.sha256()
    for path in sorted(BASE_DIR.glob("*/migrations/[0-9]*.py")):
        schema.update(str(path.relative_to(BASE_DIR)).encode() + b"\0")
        schema.update(hashlib.sha256(path.read_bytes()).digest())
    return f"imigrasi bench payments template v{TEMPLATE_VERSION}, {schema.hexdigest()[:16]}"


def _prepare(ctx: Context, env: dict[str, str], database: Database) -> None:
    """A fresh copy of the migrated template as the run's database; static files collected."""
    template_env = {**env, "DATABASE_URL": databases.with_name(env["DATABASE_URL"], TEMPLATE_NAME)}
    template = Database.from_env(template_env)
    expected = _signature()
    current = databases.mark(template_env["DATABASE_URL"], via="postgres") == expected
    if env_flag(env, "BENCH_PAYMENTS_RESEED") or not current:
        log(f"payments: building the template {template.url} (migrate, seed_demo)")
        databases.rebuild(ctx, template_env, template)
        databases.set_mark(template_env["DATABASE_URL"], expected, via="postgres")
    log(f"payments: database {database.url}, a fresh copy of {TEMPLATE_NAME}")
    databases.drop(env, database)
    databases.create_from_template(env["DATABASE_URL"], TEMPLATE_NAME)
    ctx.manage("collectstatic", "--no-input", "-v", "0", env=env)


def _driver(env: dict[str, str], command: str, path: Path, *, timeout_s: float) -> dict:
    """This module's Django side, in a process of its own with the group's settings."""
    label = f"payments {command}"
    module = "bench.groups.payments"
    return run_driver(module, command, str(path), env=env, label=label, timeout_s=timeout_s)


# --- The notifications -------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    bill_id: int
    event_id: str
    body: bytes


def _events(bills: list[list], rng: random.Random) -> list[Event]:
    """One paid notification per bill, as `tests/payments/conftest.py:paid_body` builds it."""
    now = dt.datetime.now(dt.UTC)
    events = []
    ntpns: set[str] = set()
    for n, (bill_id, code, amount) in enumerate(bills):
        reference = f"SBX-BENCH-{n:06d}-{rng.getrandbits(32):08X}"
        ntpn = seeding.unique(lambda: "".join(rng.choices(NTPN_ALPHABET, k=16)), ntpns)
        body = json.dumps(
            {
                "event_id": f"{reference}:paid",
                "billing_code": code,
                "status": "paid",
                "amount": amount,
                "method": rng.choice(METHODS),
                "ntpn": ntpn,
                "paid_at": now.isoformat(),
                "reference": reference,
            }
        ).encode()
        events.append(Event(bill_id, f"{reference}:paid", body))
    return events


def _sequence(count: int, rng: random.Random, recent_window: int) -> list[tuple[int, bool]]:
    """(event index, duplicate?) in sending order: each event once, 30 % repeats of earlier ones."""
    sequence: list[tuple[int, bool]] = []
    sent = 0
    while sent < count:
        if sent and rng.random() < DUPLICATE_SHARE:
            if rng.random() < RECENT_SHARE:
                index = rng.randrange(max(0, sent - recent_window), sent)
            else:
                index = rng.randrange(sent)
            sequence.append((index, True))
        else:
            sequence.append((sent, False))
            sent += 1
    return sequence


@dataclass
class Http:
    """The HTTP phase, whichever client sent it."""

    tool: str
    clients: int
    workers: int
    forged_status: int
    requests: int  # answered in the measured part (unique and duplicate)
    seconds: float
    words: Counter  # measured answers by result word
    errors: int  # measured answers not 200 with an accepted word, socket errors included
    latency_ms: list[tuple[float, float]]  # (milliseconds, weight) as in load.LoadResult
    unique: int
    duplicates: int
    warmup_requests: int
    exhausted: bool
    positions: int  # sequence positions handed out (warm-up and measured)
    problems: list[str]
    server_cpu_s: dict[str, float]  # during the measured part
    client_cpu_s: float
    # The Python client knows every answer; wrk only counts.
    answered: set[int] | None = None  # event indexes answered 200
    unique_ms: list[float] = field(default_factory=list)
    duplicate_ms: list[float] = field(default_factory=list)
    racing: int | None = None  # duplicates sent before their original was answered
    issued_duplicates: int = 0  # duplicates among the positions handed out

    def percentile_ms(self, percent: float) -> float:
        return percentile(
            (ms for ms, _ in self.latency_ms), percent, (w for _, w in self.latency_ms)
        )


def _serve_and_send(
    ctx: Context,
    env: dict[str, str],
    events: list[Event],
    sequence: list[tuple[int, bool]],
    directory: Path,
) -> Http:
    tool = ctx.tool()
    secret = env["SANDBOX_WEBHOOK_SECRET"]
    with ctx.server(env=env) as server:
        sender = Sender(server, events, sequence, secret)
        forged_status = _check_forged(server, sender)
        group_id = server.process.pid if server.process else -1
        if tool == "wrk":
            run = _send_wrk(ctx, server, events, sequence, secret, directory, group_id)
        else:
            run = _send_python(ctx, server, sender, group_id)
        run.forged_status = forged_status
        run.workers = server.workers
    run.issued_duplicates = sum(1 for _, duplicate in sequence[: run.positions] if duplicate)
    if run.exhausted:
        log(f"payments: all {len(events):,} bills were paid before the end of the measurement")
    return run


class Sender:
    """Client threads taking the next notification of the sequence until a deadline."""

    def __init__(self, server: Gunicorn, events: list[Event], sequence: list, secret: str) -> None:
        from payments.gateways.sandbox import HEADER, sign

        self.server = server
        self.events = events
        self.sequence = sequence
        self.secret = secret
        self.header = HEADER
        self.sign = sign
        self.counter = itertools.count()

    def post(self, body: bytes, signature: str) -> tuple[int, str]:
        headers = {"Content-Type": "application/json", self.header: signature}
        answer = self.server.request("POST", WEBHOOK_PATH, body=body, headers=headers)
        try:
            word = str(json.loads(answer.body).get("result", ""))
        except (ValueError, AttributeError):
            word = answer.body[:60].decode("utf-8", "replace")
        return answer.status, word

    def phase(self, clients: int, seconds: float) -> tuple[list[Answer], float, float, bool]:
        results: list[list[Answer]] = [[] for _ in range(clients)]
        exhausted = threading.Event()
        started = time.perf_counter()
        deadline = started + seconds

        def client(mine: list[Answer]) -> None:
            while time.perf_counter() < deadline:
                position = next(self.counter)  # atomic under the GIL
                if position >= len(self.sequence):
                    exhausted.set()
                    return
                index, duplicate = self.sequence[position]
                body = self.events[index].body
                start = time.perf_counter()
                try:
                    status, word = self.post(body, self.sign(body, secret=self.secret))
                except (OSError, http.client.HTTPException) as e:
                    status, word = 0, type(e).__name__
                end = time.perf_counter()
                mine.append(Answer(position, index, duplicate, status, word, start, end))

        threads = [
            threading.Thread(target=client, args=(results[i],), daemon=True) for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 30)
        answers = sorted((a for mine in results for a in mine), key=lambda a: a.position)
        ended = max((a.end for a in answers), default=started)
        return answers, started, ended, exhausted.is_set()


@dataclass(frozen=True)
class Answer:
    position: int
    event: int
    duplicate: bool  # a repeat in the sequence (the original may still be in flight)
    status: int  # 0: socket error or timeout
    word: str
    start: float
    end: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.word in ACCEPTED_WORDS


def _send_python(ctx: Context, server: Gunicorn, sender: Sender, group_id: int) -> Http:
    options = ctx.options
    clients = options.connections
    log(f"payments: warm-up {options.warmup_s} s, {clients} client threads")
    warmup, _, _, _ = sender.phase(clients, options.warmup_s)
    _check_answers(server, [(a.status, a.word) for a in warmup], "warm-up")
    log(
        f"payments: measuring {options.duration_s} s, {clients} client threads, "
        f"{DUPLICATE_SHARE:.0%} duplicates, Celery not eager (tasks queued, no worker yet)"
    )
    with _cpu_spent(group_id, cpu.process_s) as spent:
        answers, started, ended, exhausted = sender.phase(clients, options.duration_s)

    everything = warmup + answers
    problems = [
        f"{sender.events[a.event].event_id}: {a.status} {a.word}" for a in everything if not a.ok
    ]
    original_end = {a.event: a.end for a in everything if not a.duplicate}
    racing = sum(1 for a in everything if a.duplicate and a.start < original_end.get(a.event, 0.0))
    seconds = max(ended - started, 1e-9)
    return Http(
        tool="python-threads",
        clients=clients,
        workers=0,
        forged_status=0,
        requests=len(answers),
        seconds=seconds,
        words=Counter(a.word for a in answers),
        errors=sum(1 for a in answers if not a.ok),
        latency_ms=[((a.end - a.start) * 1000, 1.0) for a in answers],
        unique=sum(1 for a in answers if not a.duplicate),
        duplicates=sum(1 for a in answers if a.duplicate),
        warmup_requests=len(warmup),
        exhausted=exhausted,
        positions=len(everything),
        problems=problems,
        server_cpu_s=spent["server"],
        client_cpu_s=spent["client"],
        answered={a.event for a in everything if a.status == 200},
        unique_ms=[(a.end - a.start) * 1000 for a in answers if not a.duplicate],
        duplicate_ms=[(a.end - a.start) * 1000 for a in answers if a.duplicate],
        racing=racing,
    )


def _server_cpu_s(group_id: int) -> dict[str, float]:
    """CPU seconds so far of a process group (gunicorn, the worker) and of PostgreSQL."""
    return cpu.group_and_postgres_s(group_id, DATABASE_NAME)


def _difference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after}


@contextmanager
def _cpu_spent(group_id: int, client: Callable[[], float]) -> Iterator[dict]:
    """CPU seconds taken in the block by the server (`server`: the process group and
    PostgreSQL) and by the client (`client`)."""
    server_before, client_before = _server_cpu_s(group_id), client()
    spent: dict = {}
    yield spent
    spent["server"] = _difference(server_before, _server_cpu_s(group_id))
    spent["client"] = client() - client_before


def _check_forged(server: Gunicorn, sender: Sender) -> int:
    """A notification signed with another key must be refused (401) before the load."""
    body = sender.events[-1].body
    forged = sender.sign(body, secret=secrets.token_hex(32))
    try:
        status, word = sender.post(body, forged)
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"the webhook did not answer: {e}\n{server.log_tail()}") from e
    if status != 401:
        raise BenchError(
            f"a forged webhook answered {status} {word!r}, not 401\n{server.log_tail()}"
        )
    return status


def _check_answers(server: Gunicorn, answers: list[tuple[int, str]], phase: str) -> None:
    if not answers:
        raise BenchError(f"no webhook answered during the {phase}\n{server.log_tail()}")
    bad = [(s, w) for s, w in answers if s != 200 or w not in ACCEPTED_WORDS]
    if bad:
        status, word = bad[0]
        raise BenchError(
            f"{len(bad)} of {len(answers)} webhooks in the {phase} answered other than 200 "
            f"{'/'.join(sorted(ACCEPTED_WORDS))}, first {status} {word!r}\n{server.log_tail()}"
        )


# --- wrk: one thread walking the same sequence --------------------------------------------------


def _send_wrk(
    ctx: Context,
    server: Gunicorn,
    events: list[Event],
    sequence: list[tuple[int, bool]],
    secret: str,
    directory: Path,
    group_id: int,
) -> Http:
    from payments.gateways.sandbox import HEADER, sign

    options = ctx.options
    clients = options.connections
    events_path = directory / "events.tsv"
    order_path = directory / "order.txt"
    order_path.write_text("".join(f"{index}\n" for index, _ in sequence), encoding="ascii")
    script = load.wrk_script(WRK_REQUESTS.read_text(encoding="utf-8"), directory / "payments.lua")

    def run(offset: int, seconds: int) -> dict:
        # Signed just before each run (a sandbox signature is good for 5 minutes); a
        # duplicate carries its original's signature, as a gateway's quick retry may.
        timestamp = int(time.time())
        lines = []
        for event in events:
            body = event.body.decode("ascii")
            if "\t" in body or "\n" in body:
                raise BenchError("a notification body with a tab or a newline")
            lines.append(f"{sign(event.body, timestamp=timestamp, secret=secret)}\t{body}\n")
        events_path.write_text("".join(lines), encoding="ascii")
        return load.wrk_json(
            server.url(WEBHOOK_PATH),
            script=script,
            connections=clients,
            duration_s=seconds,
            threads=1,  # one Lua state: one walk through the sequence
            args=(str(offset), str(events_path), str(order_path), WEBHOOK_PATH, HEADER),
        )

    def answers(data: dict) -> list[tuple[int, str]]:
        """Enough of the answers for _check_answers: the counts as (status, word) rows."""
        rows = [
            (200, word) for word in ("received", "duplicate", "applied") for _ in range(data[word])
        ]
        return rows + [(0, "other or socket error")] * (data["other"] + load.socket_errors(data))

    log(f"payments: warm-up {options.warmup_s} s, wrk, 1 thread, {clients} connections")
    warmup = run(0, options.warmup_s)
    _check_answers(server, answers(warmup), "warm-up")
    offset = min(warmup["issued"], len(sequence))
    log(
        f"payments: measuring {options.duration_s} s, wrk, {clients} connections, "
        f"{DUPLICATE_SHARE:.0%} duplicates, Celery not eager (tasks queued, no worker yet)"
    )
    with _cpu_spent(group_id, cpu.children_s) as spent:
        measured = run(offset, options.duration_s)
    positions = min(offset + measured["issued"], len(sequence))

    requests = measured["requests"] - measured["fillers"]
    # Which positions were answered is not known to wrk: the first `requests` of the
    # measured part stand for them (at most `--connections` were still in flight).
    counted = sequence[offset : offset + requests]
    words = Counter(
        {w: measured[w] for w in ("received", "duplicate", "applied", "other") if measured[w]}
    )
    problems = []
    for name, data in (("warm-up", warmup), ("measured part", measured)):
        errors = load.socket_errors(data)
        if data["other"] or errors:
            problems.append(
                f"{data['other']} answers not 200 received/duplicate/applied and "
                f"{errors} socket errors in the {name}"
            )
    return Http(
        tool="wrk",
        clients=clients,
        workers=0,
        forged_status=0,
        requests=requests,
        seconds=max(measured["duration_us"] / 1e6, 1e-9),
        words=words,
        errors=measured["other"] + load.socket_errors(measured),
        latency_ms=list(load.quantile_points(measured)),
        unique=sum(1 for _, duplicate in counted if not duplicate),
        duplicates=sum(1 for _, duplicate in counted if duplicate),
        warmup_requests=warmup["requests"] - warmup["fillers"],
        exhausted=bool(measured["fillers"]) or positions >= len(sequence),
        positions=positions,
        problems=problems,
        server_cpu_s=spent["server"],
        client_cpu_s=spent["client"],
    )


# --- Phase 2: a Celery worker decides the queued events -----------------------------------------


@dataclass
class Decided:
    events: int  # decided by the worker
    waiting_before: int  # events stored and not decided when the worker started
    messages_before: dict[str, int]  # queued messages by task name, before the worker
    seconds: float  # first to last decision (processed_at)
    wall_s: float  # worker started to every event decided
    startup_s: float  # worker started to the first decision seen
    drain_s: float  # worker started to the queue empty (duplicate messages included)
    outcomes: dict[str, int]
    cpu_s: dict[str, float]  # worker group and PostgreSQL, from the first decision seen
    cpu_events: int  # decisions in that stretch
    cpu_stretch_s: float  # its length
    busy_before_pct: float | None
    other_pct: float | None  # other processes than the bench's own, PostgreSQL included
    left_in_queue: int
    sessions: int  # PostgreSQL sessions opened in the database meanwhile
    log_path: Path

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _broker_messages(url: str) -> tuple[list[tuple[str, list]], int]:
    """(task name, args) of every message waiting in the broker's lists (the queued and the
    parked ones), and how many were taken and not acknowledged."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        messages, unacked = [], 0
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == b"list":
                messages += [_task_and_args(raw) for raw in client.lrange(key, 0, -1)]
            elif key == b"unacked" and kind == b"hash":
                unacked += client.hlen(key)
        return messages, unacked
    finally:
        client.close()


def _task_and_args(raw: bytes) -> tuple[str, list]:
    try:
        message = json.loads(raw)
        task = message["headers"]["task"]
    except (ValueError, KeyError, TypeError):
        return "?", []
    try:
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        return task, list(json.loads(body)[0])
    except (ValueError, KeyError, TypeError, IndexError):
        return task, []


def _queue_counts(url: str) -> dict[str, int]:
    """Messages waiting in the broker by task name, and unacknowledged ones ("unacked")."""
    messages, unacked = _broker_messages(url)
    counts = Counter(name for name, _ in messages)
    if unacked:
        counts["unacked"] = unacked
    return dict(counts)


def _decide_queue_length(client) -> int:
    """Messages for the worker still waiting or taken and not acknowledged."""
    waiting = sum(client.llen(key) for key in client.scan_iter(match=f"{DECIDE_QUEUE}*"))
    return waiting + client.hlen("unacked")


def _decide(ctx: Context, env: dict[str, str]) -> Decided:
    """Start the worker, wait until every stored event is decided and its messages taken."""
    import psycopg
    import redis

    name, connect = databases.connect_args(env["DATABASE_URL"])
    broker = redis.Redis.from_url(env["CELERY_BROKER_URL"], socket_connect_timeout=2)
    log_path = ctx.output.parent / "payments-worker.log"
    with psycopg.connect(dbname=name, autocommit=True, **connect) as conn:

        def waiting() -> int:
            row = conn.execute(
                "SELECT count(*) FROM payments_webhookevent WHERE outcome = 'received'"
            ).fetchone()
            return int(row[0])

        def sessions() -> int:
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
            return int(row[0] or 0) if row else 0

        waiting_before = waiting()
        messages_before = _queue_counts(env["CELERY_BROKER_URL"])
        busy = cpu.busy_percent()  # gunicorn is stopped: is anything else running?
        log(
            f"payments: deciding {waiting_before:,} stored events, "
            f"{messages_before.get(DECIDE_TASK, 0):,} {DECIDE_TASK} messages queued; "
            f"a Celery worker (prefork, {WORKER_CONCURRENCY} processes), log {log_path}"
        )
        usage = cpu.OtherUsage.start()
        sessions_before = sessions()
        launched = time.monotonic()
        cpu_first: dict[str, float] | None = None
        decided_first = 0
        startup_s = 0.0
        with celery_worker(
            env,
            log_path,
            app=WORKER_APP,
            queue=DECIDE_QUEUE,
            name="bench-payments@%h",
            concurrency=WORKER_CONCURRENCY,
        ) as process:
            left = waiting_before
            while left:
                if time.monotonic() - launched > DECIDE_TIMEOUT_S:
                    raise BenchError(
                        f"{left:,} events still undecided after {DECIDE_TIMEOUT_S:.0f} s\n"
                        + tail(log_path)
                    )
                if has_exited(process.pid):
                    raise BenchError(f"the Celery worker exited:\n{tail(log_path)}")
                time.sleep(POLL_S)
                left = waiting()
                if cpu_first is None and left < waiting_before:
                    cpu_first = _server_cpu_s(process.pid)
                    decided_first = waiting_before - left
                    startup_s = time.monotonic() - launched
            wall_s = time.monotonic() - launched
            cpu_last = _server_cpu_s(process.pid)  # before the worker's backends go
            # The duplicates' messages left are no-ops; the queue is empty when they are taken.
            drain_deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while _decide_queue_length(broker) and time.monotonic() < drain_deadline:
                time.sleep(POLL_S)
            drain_s = time.monotonic() - launched
        left_in_queue = _decide_queue_length(broker)
        broker.close()
        other = usage.percent() if usage else None
        conn.execute("SELECT pg_stat_clear_snapshot()")
        opened = sessions() - sessions_before
        rows = conn.execute(
            "SELECT outcome, count(*), min(processed_at), max(processed_at) "
            "FROM payments_webhookevent WHERE outcome <> 'received' GROUP BY outcome"
        ).fetchall()
    outcomes = {outcome: int(n) for outcome, n, _, _ in rows}
    first = min((row[2] for row in rows if row[2]), default=None)
    last = max((row[3] for row in rows if row[3]), default=None)
    seconds = (last - first).total_seconds() if first and last else 0.0
    if cpu_first is None:
        cpu_first, decided_first, startup_s = cpu_last, waiting_before, wall_s
    return Decided(
        events=sum(outcomes.values()),
        waiting_before=waiting_before,
        messages_before=messages_before,
        seconds=seconds,
        wall_s=wall_s,
        startup_s=startup_s,
        drain_s=drain_s,
        outcomes=outcomes,
        cpu_s=_difference(cpu_first, cpu_last),
        cpu_events=waiting_before - decided_first,
        cpu_stretch_s=wall_s - startup_s,
        busy_before_pct=busy,
        other_pct=other,
        left_in_queue=left_in_queue,
        sessions=max(0, opened),
        log_path=log_path,
    )


# --- Report -----------------------------------------------------------------------------------


def _report(ctx: Context, run: Http, decided: Decided, verified: dict) -> None:
    options = ctx.options
    cores = os.cpu_count() or 1
    per_s = run.requests / run.seconds
    met = per_s >= WEBHOOK_TARGET_PER_S
    gunicorn_ms, postgres_ms, ceiling = _cpu_per_item(run.server_cpu_s, run.requests, cores)
    per_tool = {}
    if run.tool == "python-threads":
        per_tool = {
            "unique_p50_ms": round(percentile(run.unique_ms, 50), 1),
            "duplicate_p50_ms": round(percentile(run.duplicate_ms, 50), 1),
        }
    ctx.emit(
        "webhook.per_s",
        per_s,
        "webhooks/s",
        path=WEBHOOK_PATH,
        requests=run.requests,
        unique=run.unique,
        duplicates=run.duplicates,
        unique_per_s=round(run.unique / run.seconds, 1),
        seconds=round(run.seconds, 3),
        answers=dict(run.words),
        errors=run.errors,
        p50_ms=round(run.percentile_ms(50), 1),
        p99_ms=round(run.percentile_ms(99), 1),
        **per_tool,
        warmup_requests=run.warmup_requests,
        ran_out_of_bills=run.exhausted,
        tool=run.tool,
        connections=run.clients,
        duration_s=options.duration_s,
        warmup_s=options.warmup_s,
        workers=run.workers,
        gunicorn_cpu_ms_per_webhook=round(gunicorn_ms, 2),
        postgres_cpu_ms_per_webhook=round(postgres_ms, 2),
        cpu_ceiling_per_s=round(ceiling, 1),
        client_cpu_pct=round(run.client_cpu_s / run.seconds * 100, 1),
        tasks_queued=sum(v for k, v in decided.messages_before.items() if k != "unacked"),
        tasks_by_name=decided.messages_before,
        target=WEBHOOK_TARGET_PER_S,
        target_met=met,
    )
    log(
        f"webhook.per_s {per_s:.0f} ({run.unique} unique, {run.duplicates} duplicates in "
        f"{run.seconds:.1f} s, p50 {run.percentile_ms(50):.0f} ms, "
        f"p99 {run.percentile_ms(99):.0f} ms, {run.tool}, {run.clients} connections, "
        f"{run.workers} workers): target >= {WEBHOOK_TARGET_PER_S:.0f} {verdict(met)}"
    )
    log(
        f"  server CPU per webhook: gunicorn {gunicorn_ms:.1f} ms + PostgreSQL "
        f"{postgres_ms:.1f} ms, i.e. at most {ceiling:.0f}/s on {cores} cores with nothing "
        f"else running; the client ({run.tool}) took {run.client_cpu_s / run.seconds:.0%} "
        "of a core"
    )

    worker_ms, worker_pg_ms, worker_ceiling = _cpu_per_item(
        decided.cpu_s, decided.cpu_events, cores
    )
    stretch = max(decided.cpu_stretch_s, 1e-9)
    parked = verified["broker"]["by_task"]
    messages = decided.messages_before.get(DECIDE_TASK, 0)
    ctx.emit(
        "webhook.settled_per_s",
        decided.per_s,
        "events/s",
        events=decided.events,
        outcomes=decided.outcomes,
        seconds=round(decided.seconds, 3),
        per_s_with_startup=round(decided.events / decided.wall_s, 1) if decided.wall_s else 0,
        wall_s=round(decided.wall_s, 2),
        startup_s=round(decided.startup_s, 2),
        drain_s=round(decided.drain_s, 2),
        messages=messages,
        duplicate_messages=max(0, messages - decided.waiting_before),
        left_in_queue=decided.left_in_queue,
        database_sessions=decided.sessions,
        worker=f"celery prefork -c {WORKER_CONCURRENCY} -Q {DECIDE_QUEUE}",
        tasks_parked=parked,
        worker_cpu_ms_per_event=round(worker_ms, 2),
        postgres_cpu_ms_per_event=round(worker_pg_ms, 2),
        cpu_ceiling_per_s=round(worker_ceiling, 1),
        worker_cpu_pct=round(decided.cpu_s["group"] / stretch * 100, 1),
        postgres_cpu_pct=round(decided.cpu_s["postgres"] / stretch * 100, 1),
        decide_cpu_busy_before_pct=(
            round(decided.busy_before_pct, 1) if decided.busy_before_pct is not None else None
        ),
        decide_cpu_other_pct=round(decided.other_pct, 1) if decided.other_pct is not None else None,
        target=None,
    )
    log(
        f"webhook.settled_per_s {decided.per_s:.0f} ({decided.events:,} events decided in "
        f"{decided.seconds:.1f} s from the first decision, {decided.wall_s:.1f} s from the "
        f"worker's start; {messages:,} messages, {WORKER_CONCURRENCY} prefork processes): "
        "informational"
    )
    log(
        f"  worker CPU per event: {worker_ms:.1f} ms + PostgreSQL {worker_pg_ms:.1f} ms, i.e. "
        f"at most {worker_ceiling:.0f}/s on {cores} cores with nothing else running; "
        f"other processes (PostgreSQL included) took {decided.other_pct or 0:.0f} % of the "
        "machine meanwhile"
    )

    effects = verified["effects"]
    total = sum(effects.values())
    effects_met = total <= DUPLICATE_EFFECTS_TARGET
    deliveries = run.positions
    duplicates = run.issued_duplicates
    racing = {} if run.racing is None else {"racing_duplicates": run.racing}
    ctx.emit(
        "webhook.duplicate_effects",
        total,
        "count",
        unique_events=verified["unique_bills"],
        deliveries=deliveries,
        duplicates=duplicates,
        **racing,
        breakdown=effects,
        missing=verified["missing"],
        receipt_sample=verified["receipt_sample"],
        target=DUPLICATE_EFFECTS_TARGET,
        target_met=effects_met,
    )
    extra = ", ".join(f"{k} {v}" for k, v in effects.items() if v)
    log(
        f"webhook.duplicate_effects {total} over {verified['unique_bills']} unique events "
        f"and {duplicates} duplicates"
        + (f" ({run.racing} sent before their original was answered)" if racing else "")
        + (f" ({extra})" if extra else "")
        + f": target {DUPLICATE_EFFECTS_TARGET} {verdict(effects_met)}"
    )

    receipt = verified["receipt"]
    ctx.report_renders(
        "payment_receipt_pdf.median_ms",
        receipt,
        RECEIPT_TARGET_MS,
        "warm-up render",
        bill=receipt["code"],
    )

    problems = list(run.problems) + list(verified["problems"])
    if run.forged_status != 401:
        problems.append(f"forged signature answered {run.forged_status}")
    if decided.left_in_queue:
        problems.append(
            f"{decided.left_in_queue} {DECIDE_QUEUE} messages left after every event was decided"
        )
    if problems:
        for problem in problems[:10]:
            log(f"  {problem}")
        raise BenchError(
            f"{len(problems)} problems with the webhooks (server log: "
            f"{ctx.output.parent / 'gunicorn.log'}, worker log: {decided.log_path})"
        )


def _cpu_per_item(cpu_s: dict[str, float], count: int, cores: int) -> tuple[float, ...]:
    """Milliseconds of CPU per item (webhook, event) of the group and of PostgreSQL, and the
    items per second the machine could do if it had every core to itself (nothing else)."""
    own_ms = cpu_s["group"] * 1000 / max(count, 1)
    postgres_ms = cpu_s["postgres"] * 1000 / max(count, 1)
    ceiling = cores * 1000 / (own_ms + postgres_ms) if own_ms + postgres_ms else 0.0
    return own_ms, postgres_ms, ceiling


# --- The Django side: `python -m bench.groups.payments seed|verify PATH` -------------------------


def _flush_redis() -> None:
    """Empty the bench's own cache and broker databases (the run starts with no queue)."""
    import redis
    from django.conf import settings

    for url in {settings.REDIS_URL, settings.CELERY_BROKER_URL}:
        if url and url.startswith(("redis://", "rediss://")):
            redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


def _address(user, channel: str) -> str:
    return {"sms": user.phone, "email": user.email}.get(channel, "")


def _seed(path: str) -> dict:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from applications.models import Application, Service, StatusEvent
    from applications.services import make_reference
    from notifications.models import Notification
    from offices.models import Office
    from payments import services as payment_services
    from payments.models import Bill

    if Application.objects.exists():
        raise SystemExit("the bench database already holds applications")
    _flush_redis()
    rng = random.Random(RANDOM_SEED)
    now = timezone.now()
    today = timezone.localdate()
    services = [s for s in Service.objects.active().order_by("pk") if s.fee_on(today)]
    offices = list(Office.objects.order_by("code"))
    if not services or not offices:
        raise SystemExit("seed_demo left no service with a fee or no office")
    fees = {s.pk: s.fee_on(today) for s in services}

    with transaction.atomic():
        citizens = seeding.citizens(
            rng,
            CITIZENS,
            email="bench.payer.{}@example.invalid",
            now=now,
            extra=lambda i: {"phone": f"+62812{i:08d}", "phone_verified_at": now},
        )
        persons = seeding.persons(rng, citizens)
        references: set[str] = set()
        applications = []
        for n in range(BILLS):
            person = persons[n % len(persons)]
            service = rng.choice(services)
            office = rng.choice(offices)
            submitted = now - dt.timedelta(hours=rng.uniform(1, 100))
            draw = functools.partial(make_reference, service, office)
            reference = seeding.unique(draw, references)
            applications.append(
                Application(
                    reference=reference,
                    service=service,
                    office=office,
                    applicant_id=person.owner_id,
                    person=person,
                    status="awaiting_payment",
                    status_changed_at=submitted + dt.timedelta(seconds=30),
                    step_reached=4,
                    **seeding.applicant(person, service, rng, ["Malaysia"]),
                    fee_amount=fees[service.pk],
                    declaration_at=submitted - dt.timedelta(minutes=1),
                    submitted_at=submitted,
                    created_at=submitted - dt.timedelta(minutes=20),
                )
            )
        applications = Application.objects.bulk_create(applications, batch_size=1000)
        events = StatusEvent.objects.bulk_create(
            [
                StatusEvent(
                    application=application,
                    from_status=from_status,
                    to_status=to_status,
                    by_id=application.applicant_id if actor == "citizen" else None,
                    actor=actor,
                    at=at,
                )
                for application in applications
                for from_status, to_status, actor, at in (
                    ("draft", "submitted", "citizen", application.submitted_at),
                    ("submitted", "awaiting_payment", "system", application.status_changed_at),
                )
            ],
            batch_size=2000,
        )
        # The messages those moves sent (SMS, portal, email): the history every live portal
        # has. Without it the table is empty when analysed, and with autovacuum off (as on
        # the bench server) the planner keeps judging it empty while the run fills it.
        event_type = ContentType.objects.get_for_model(StatusEvent)
        owners = {user.pk: user for user in citizens}
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=event.application.applicant_id,
                    event="application.status_changed",
                    channel=channel,
                    status="delivered",
                    address=_address(owners[event.application.applicant_id], channel),
                    language="id",
                    subject=f"Permohonan {event.application.reference}",
                    body=f"Permohonan {event.application.reference}: status {event.to_status}.",
                    segments=1 if channel == "sms" else 0,
                    related_type=event_type,
                    related_id=str(event.pk),
                    sent_at=event.at,
                    delivered_at=event.at,
                )
                for event in events
                for channel in ("sms", "portal", "email")
            ],
            batch_size=2000,
        )
        codes: set[str] = set()
        bills = []
        for application in applications:
            code = seeding.unique(payment_services.make_code, codes)
            bills.append(
                Bill(
                    application=application,
                    code=code,
                    amount=application.fee_amount,
                    issued_at=application.status_changed_at,
                    expires_at=application.status_changed_at + dt.timedelta(days=7),
                )
            )
        bills = Bill.objects.bulk_create(bills, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    Path(path).write_text(
        json.dumps({"bills": [[b.pk, b.code, b.amount] for b in bills]}), encoding="utf-8"
    )
    return {
        "applications": len(applications),
        "bills": len(bills),
        "citizens": len(citizens),
        "notifications": len(events) * 3,
    }


def _beyond_one(counts) -> int:
    return sum(n - 1 for n in counts if n > 1)


def _verify(path: str) -> dict:
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType

    from applications.models import StatusEvent
    from notifications.models import Notification
    from payments import receipts, tasks
    from payments.models import Bill, Payment, PaymentReceipt, WebhookEvent

    sent = json.loads(Path(path).read_text(encoding="utf-8"))
    bill_of: dict[str, int] = sent["events"]
    issued, answered = set(sent["issued"]), set(sent["answered"])
    # What the server stored is what was sent (wrk does not say which of its last requests
    # arrived): every stored event must be one the bench issued, decided `applied`, for its bill.
    stored = list(
        WebhookEvent.objects.filter(provider="sandbox").values_list(
            "event_id", "outcome", "bill_id", "detail"
        )
    )
    stored_ids = {event_id for event_id, _, _, _ in stored}
    problems = []
    unknown = sorted(e for e in stored_ids if e not in bill_of or e not in issued)
    if unknown:
        problems.append(f"{len(unknown)} stored events the bench did not send: {unknown[:3]}")
    lost = sorted(answered - stored_ids)
    if lost:
        problems.append(f"{len(lost)} events answered 200 and not stored: {lost[:3]}")
    undecided = [(e, o, d) for e, o, _, d in stored if o != WebhookEvent.Outcome.APPLIED]
    if undecided:
        problems.append(
            f"{len(undecided)} stored events not applied: "
            + ", ".join(f"{e} {o} ({d})" for e, o, d in undecided[:3])
        )
    elsewhere = [e for e, o, b, _ in stored if e in bill_of and o == "applied" and b != bill_of[e]]
    if elsewhere:
        problems.append(f"{len(elsewhere)} events applied to another bill: {elsewhere[:3]}")
    bill_ids = sorted({bill_of[e] for e in stored_ids if e in bill_of})
    unique = len(bill_ids)
    bills = Bill.objects.filter(pk__in=bill_ids)
    application_ids = list(bills.values_list("application_id", flat=True))

    settled = Payment.objects.filter(bill_id__in=bill_ids, state=Payment.State.SETTLED)
    settled_per_bill = Counter(settled.values_list("bill_id", flat=True))
    paid_bills = bills.filter(status=Bill.Status.PAID).count()
    held = Payment.objects.filter(bill_id__in=bill_ids, state=Payment.State.HELD).count()
    to_paid = StatusEvent.objects.filter(application_id__in=application_ids, to_status="paid")
    to_paid_per_application = Counter(to_paid.values_list("application_id", flat=True))
    event_type = ContentType.objects.get_for_model(StatusEvent)
    application_of = dict(to_paid.values_list("pk", "application_id"))
    status_rows = list(
        Notification.objects.filter(
            event="application.status_changed",
            related_type=event_type,
            related_id__in=[str(pk) for pk in application_of],
        ).values_list("related_id", "channel")
    )
    status_messages = Counter(
        (application_of[int(related_id)], channel) for related_id, channel in status_rows
    )
    applied = Counter(
        WebhookEvent.objects.filter(
            bill_id__in=bill_ids, outcome=WebhookEvent.Outcome.APPLIED
        ).values_list("bill_id", flat=True)
    )
    review = bills.filter(needs_review=True).count()

    messages, _ = _broker_messages(settings.CELERY_BROKER_URL)
    by_task = Counter(name for name, _ in messages)
    receipt_tasks = Counter(
        args[0] for name, args in messages if name == tasks.render_payment_receipt.name and args
    )
    wanted = set(bill_ids)
    receipt_tasks_of_run = {b: n for b, n in receipt_tasks.items() if b in wanted}

    # A worker's share, for a sample: the queued receipt tasks run, then once more (a
    # redelivery after a lost acknowledgement); one receipt and one payment.paid per bill.
    sample = sorted(receipt_tasks_of_run)[:RECEIPT_SAMPLE]
    for bill_id in sample:
        for _ in range(receipt_tasks_of_run[bill_id] + 1):
            tasks.render_payment_receipt.run(bill_id)
    receipt_type = ContentType.objects.get_for_model(PaymentReceipt)
    receipts_of_sample = Counter(
        PaymentReceipt.objects.filter(bill_id__in=sample).values_list("bill_id", flat=True)
    )
    receipt_of = dict(
        PaymentReceipt.objects.filter(bill_id__in=sample).values_list("pk", "bill_id")
    )
    paid_messages = Counter(
        (receipt_of[int(related_id)], channel)
        for related_id, channel in Notification.objects.filter(
            event="payment.paid",
            related_type=receipt_type,
            related_id__in=[str(pk) for pk in receipt_of],
        ).values_list("related_id", "channel")
    )

    effects = {
        "settled_payments": _beyond_one(settled_per_bill.values()),
        "settled_payments_vs_paid_bills": max(0, sum(settled_per_bill.values()) - paid_bills),
        "held_payments": held,
        "bills_flagged_for_review": review,
        "status_events_to_paid": _beyond_one(to_paid_per_application.values()),
        "status_changed_notifications": _beyond_one(status_messages.values()),
        "applied_webhook_events": _beyond_one(applied.values()),
        "receipt_tasks_queued": _beyond_one(receipt_tasks_of_run.values()),
        "payment_receipts_sample": _beyond_one(receipts_of_sample.values()),
        "payment_paid_notifications_sample": _beyond_one(paid_messages.values()),
    }
    missing = unique - paid_bills
    if missing:
        problems.append(f"{missing} stored events left their bill unpaid")

    # The receipt PDF of a bill the webhook paid: one warm-up render, then timed renders.
    bill = (
        Bill.objects.select_related(
            "application", "application__service", "application__office", "application__applicant"
        )
        .filter(pk__in=bill_ids, status=Bill.Status.PAID)
        .filter(application__applicant__preferred_language="id")
        .order_by("pk")
        .first()
    )
    if bill is None:
        raise SystemExit("no bill was paid by the webhooks")
    renders = seeding.time_renders(lambda: receipts.payment_receipt_pdf(bill), RECEIPT_RENDERS)

    _flush_redis()  # the parked tasks are not to be run by anyone
    return {
        "unique_bills": unique,
        "stored_events": len(stored),
        "outcomes": dict(Counter(o for _, o, _, _ in stored)),
        "problems": problems,
        "paid_bills": paid_bills,
        "missing": missing,
        "effects": effects,
        "receipt_sample": {
            "bills": len(sample),
            "task_runs": sum(receipt_tasks_of_run[b] + 1 for b in sample),
            "receipts": sum(receipts_of_sample.values()),
            "payment_paid_notifications": sum(paid_messages.values()),
        },
        "broker": {
            "messages": len(messages),
            "by_task": dict(by_task),
            "receipt_tasks": sum(receipt_tasks_of_run.values()),
        },
        "status_notifications": sum(status_messages.values()),
        "notifications_by_channel": dict(Counter(channel for _, channel in status_rows)),
        "receipt": {"code": bill.code, **renders},
    }


if __name__ == "__main__":
    sys.exit(
        seeding.main(
            sys.argv[1:],
            {"seed": _seed, "verify": _verify},
            "python -m bench.groups.payments seed|verify PATH",
            args=1,
        )
    )
