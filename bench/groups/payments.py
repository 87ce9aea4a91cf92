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
import hashlib
import http.client
import itertools
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bench import cpu, load
from bench.core import (
    BASE_DIR,
    POSTGRES_SCHEMES,
    BenchError,
    Context,
    Database,
    group,
    log,
)
from bench.server import HOST, Gunicorn

DATABASE_NAME = "imigrasi_bench_payments"
TEMPLATE_NAME = "imigrasi_bench_payments_template"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
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


@group("payments")
def payments(ctx: Context) -> None:
    env, database = _environment(ctx)
    with tempfile.TemporaryDirectory(prefix="bench-payments-") as tmp:
        seeded_path = Path(tmp) / "seeded.json"
        _prepare(ctx, env, database)
        log(f"payments: seeding {BILLS:,} applications awaiting payment, each with its bill")
        started = time.monotonic()
        seeded = _driver(env, "seed", str(seeded_path), timeout_s=300)
        bills = json.loads(seeded_path.read_text(encoding="utf-8"))["bills"]
        log(
            f"payments: seeded {seeded['applications']:,} applications and bills of "
            f"{seeded['citizens']:,} citizens, {seeded['notifications']:,} past notifications "
            f"in {time.monotonic() - started:.0f} s"
        )

        common = dict(ctx.common)
        ctx.common.update(
            database=database.vendor,
            database_url=database.url,
            cache="redis",
            broker=_without_password(env["CELERY_BROKER_URL"]),
            celery_eager=False,
        )
        for key in ("cpu_busy_before_pct", "cpu_other_pct"):
            ctx.common.pop(key, None)  # from an earlier group's server
        try:
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
            verified = _driver(env, "verify", str(sent_path), timeout_s=300)
            _report(ctx, http_run, decided, verified)
        finally:
            ctx.common.clear()
            ctx.common.update(common)


# --- The database ------------------------------------------------------------------------------


def _database_url(env: dict[str, str]) -> str:
    explicit = (env.get("BENCH_PAYMENTS_DATABASE_URL") or "").strip()
    if explicit:
        return explicit
    configured = (env.get("DATABASE_URL") or "").strip()
    parts = urlsplit(configured)
    if parts.scheme.lower() in POSTGRES_SCHEMES:
        return urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))  # same server, own database
    return DEFAULT_DATABASE_URL


def _with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}@{parts.hostname or ''}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


def _environment(ctx: Context) -> tuple[dict[str, str], Database]:
    env = dict(ctx.env)
    env["DATABASE_URL"] = _database_url(env)
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
    database = Database.from_env(env)
    if database.vendor != "postgresql":
        raise BenchError(f"the payments group needs PostgreSQL, not {database.url}")
    return env, database


def _connect_args(url: str) -> tuple[str, dict]:
    parts = urlsplit(url)
    connect = {
        "host": parts.hostname or None,
        "port": parts.port,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "connect_timeout": 5,
    }
    return unquote(parts.path.lstrip("/")), {k: v for k, v in connect.items() if v is not None}


def _signature() -> str:
    """What the template depends on: its version and the schema (every migration file, its
    name and its text: a migration edited in place changes the schema too)."""
    schema = hashlib.sha256()
    for path in sorted(BASE_DIR.glob("*/migrations/[0-9]*.py")):
        schema.update(str(path.relative_to(BASE_DIR)).encode() + b"\0")
        schema.update(hashlib.sha256(path.read_bytes()).digest())
    return f"imigrasi bench payments template v{TEMPLATE_VERSION}, {schema.hexdigest()[:16]}"


def _marker(url: str) -> str | None:
    import psycopg

    name, connect = _connect_args(url)
    try:
        with psycopg.connect(dbname="postgres", **connect) as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [name],
            ).fetchone()
    except psycopg.Error as e:
        raise BenchError(f"cannot read the mark of {name}: {e}") from e
    return row[0] if row else None


def _set_marker(url: str, text: str) -> None:
    import psycopg
    from psycopg import sql

    name, connect = _connect_args(url)
    with psycopg.connect(dbname="postgres", autocommit=True, **connect) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
        )


def _create_from_template(url: str, template: str) -> None:
    import psycopg
    from psycopg import sql

    name, connect = _connect_args(url)
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **connect) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    except psycopg.Error as e:
        raise BenchError(f"cannot create {name} from {template}: {e}") from e


def _prepare(ctx: Context, env: dict[str, str], database: Database) -> None:
    """A fresh copy of the migrated template as the run's database; static files collected."""
    from bench import database as databases

    template_env = {**env, "DATABASE_URL": _with_name(env["DATABASE_URL"], TEMPLATE_NAME)}
    template = Database.from_env(template_env)
    expected = _signature()
    rebuild = (env.get("BENCH_PAYMENTS_RESEED") or "").strip().lower() in {"1", "true", "yes"}
    if rebuild or _marker(template_env["DATABASE_URL"]) != expected:
        log(f"payments: building the template {template.url} (migrate, seed_demo)")
        databases.drop(template_env, template)
        databases.ensure_exists(template_env, template)
        ctx.manage("migrate", "--no-input", "-v", "0", env=template_env)
        ctx.manage("seed_demo", "-v", "0", env=template_env)
        _set_marker(template_env["DATABASE_URL"], expected)
    log(f"payments: database {database.url}, a fresh copy of {TEMPLATE_NAME}")
    databases.drop(env, database)
    _create_from_template(env["DATABASE_URL"], TEMPLATE_NAME)
    ctx.manage("collectstatic", "--no-input", "-v", "0", env=env)


def _driver(env: dict[str, str], command: str, path: str, *, timeout_s: float) -> dict:
    """This module's Django side, in a process of its own with the group's settings."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.groups.payments", command, path],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"payments {command} took more than {timeout_s:.0f} s") from e
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise BenchError(f"payments {command} failed (exit {done.returncode})")
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        raise BenchError(f"payments {command} printed no result: {done.stdout[-500:]!r}") from e


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
        while True:
            ntpn = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=16))
            if ntpn not in ntpns:
                ntpns.add(ntpn)
                break
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
        return load.LoadResult(
            self.tool, self.clients, self.seconds, self.requests, 0, 0, tuple(self.latency_ms)
        ).percentile_ms(percent)


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
        sender = Sender(server.port, events, sequence, secret)
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

    def __init__(self, port: int, events: list[Event], sequence: list, secret: str) -> None:
        from payments.gateways.sandbox import HEADER, sign

        self.port = port
        self.events = events
        self.sequence = sequence
        self.secret = secret
        self.header = HEADER
        self.sign = sign
        self.counter = itertools.count()

    def post(self, body: bytes, signature: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request(
                "POST",
                WEBHOOK_PATH,
                body=body,
                headers={"Content-Type": "application/json", self.header: signature},
            )
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        try:
            word = str(json.loads(data).get("result", ""))
        except (ValueError, AttributeError):
            word = data[:60].decode("utf-8", "replace")
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
    cpu_before, client_before = _group_cpu_s(group_id), _own_cpu_s()
    answers, started, ended, exhausted = sender.phase(clients, options.duration_s)
    cpu_after, client_after = _group_cpu_s(group_id), _own_cpu_s()

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
        server_cpu_s={k: cpu_after[k] - cpu_before[k] for k in cpu_after},
        client_cpu_s=client_after - client_before,
        answered={a.event for a in everything if a.status == 200},
        unique_ms=[(a.end - a.start) * 1000 for a in answers if not a.duplicate],
        duplicate_ms=[(a.end - a.start) * 1000 for a in answers if a.duplicate],
        racing=racing,
    )


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def _children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system


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

_WRK_SCRIPT = """\
-- `make bench BENCH=payments`: the bench's sequence of signed notifications, one wrk thread.
-- The requests are read from files (one "signature<TAB>body" line per event, one event number
-- per position); argument 1 is the position to start from (after the warm-up's).
local bench_events_path = %(events)s
local bench_order_path = %(order)s
local bench_path = %(path)s
local bench_header = %(header)s
local threads = {}
local bench_lines = {}
local bench_order = {}
local bench_built = nil
local bench_filler = nil
bench_offset = 0
bench_next = 0
bench_fillers = 0
non2xx = 0
received = 0
duplicate = 0
applied = 0
other = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bench_offset = tonumber(args[1]) or 0
  for line in io.lines(bench_events_path) do
    bench_lines[#bench_lines + 1] = line
  end
  for line in io.lines(bench_order_path) do
    bench_order[#bench_order + 1] = tonumber(line) + 1
  end
end

function request()
  if bench_built == nil then
    bench_built = {}
    for i, line in ipairs(bench_lines) do
      local tab = string.find(line, "\\t", 1, true)
      local headers = {["Content-Type"] = "application/json"}
      headers[bench_header] = string.sub(line, 1, tab - 1)
      bench_built[i] = wrk.format("POST", bench_path, headers, string.sub(line, tab + 1))
    end
    bench_filler = wrk.format("GET", "/bench/hello", {}, nil)
  end
  bench_next = bench_next + 1
  local position = bench_offset + bench_next
  if position > #bench_order then
    return bench_filler  -- the bills ran out: a cheap request, counted apart
  end
  return bench_built[bench_order[position]]
end

function response(status, headers, body)
  if body == "hello" then
    bench_fillers = bench_fillers + 1
    return
  end
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  local word = body and string.match(body, '"result"%%s*:%%s*"([^"]*)"')
  if status ~= 200 then
    other = other + 1
  elseif word == "received" then
    received = received + 1
  elseif word == "duplicate" then
    duplicate = duplicate + 1
  elseif word == "applied" then
    applied = applied + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = {non2xx = 0, received = 0, duplicate = 0, applied = 0, other = 0,
                  bench_fillers = 0, bench_next = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local quantiles = {}
  if summary.requests > 0 then
    for i = 1, 190 do
      table.insert(quantiles, string.format("[%%.1f, %%d]", i / 2, latency:percentile(i / 2)))
    end
    for i = 951, 1000 do
      table.insert(quantiles, string.format("[%%.1f, %%d]", i / 10, latency:percentile(i / 10)))
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "connect": %%d, '
      .. '"read": %%d, "write": %%d, "timeout": %%d, "issued": %%d, "fillers": %%d, '
      .. '"received": %%d, "duplicate": %%d, "applied": %%d, "other": %%d, '
      .. '"quantiles_us": [%%s]}\\n',
    summary.requests, summary.duration, totals.non2xx, e.connect, e.read, e.write, e.timeout,
    totals.bench_next, totals.bench_fillers, totals.received, totals.duplicate, totals.applied,
    totals.other, table.concat(quantiles, ", ")
  ))
end
"""


def _lua_string(text: str) -> str:
    if not all(0x20 <= ord(c) <= 0x7E for c in text):
        raise BenchError(f"not printable ASCII, cannot go into the wrk script: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
    script = directory / "payments.lua"
    order_path.write_text("".join(f"{index}\n" for index, _ in sequence), encoding="ascii")
    script.write_text(
        _WRK_SCRIPT
        % {
            "events": _lua_string(str(events_path)),
            "order": _lua_string(str(order_path)),
            "path": _lua_string(WEBHOOK_PATH),
            "header": _lua_string(HEADER),
        },
        encoding="ascii",
    )

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
        command = [
            "wrk",
            "--threads=1",  # one Lua state: one walk through the sequence
            f"--connections={clients}",
            f"--duration={seconds}s",
            f"--timeout={load.REQUEST_TIMEOUT_S:.0f}s",
            f"--script={script}",
            server.url(WEBHOOK_PATH),
            "--",
            str(offset),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=seconds + 60, check=False
            )
        except subprocess.TimeoutExpired as e:
            raise BenchError(f"wrk did not finish within {seconds + 60} s") from e
        summary = next(
            (line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")), None
        )
        if done.returncode != 0 or summary is None:
            raise BenchError(f"wrk failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
        return json.loads(summary.removeprefix("WRK_JSON "))

    def answers(data: dict) -> list[tuple[int, str]]:
        """Enough of the answers for _check_answers: the counts as (status, word) rows."""
        rows = [
            (200, word) for word in ("received", "duplicate", "applied") for _ in range(data[word])
        ]
        errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
        return rows + [(0, "other or socket error")] * (data["other"] + errors)

    log(f"payments: warm-up {options.warmup_s} s, wrk, 1 thread, {clients} connections")
    warmup = run(0, options.warmup_s)
    _check_answers(server, answers(warmup), "warm-up")
    offset = min(warmup["issued"], len(sequence))
    log(
        f"payments: measuring {options.duration_s} s, wrk, {clients} connections, "
        f"{DUPLICATE_SHARE:.0%} duplicates, Celery not eager (tasks queued, no worker yet)"
    )
    cpu_before, client_before = _group_cpu_s(group_id), _children_cpu_s()
    measured = run(offset, options.duration_s)
    cpu_after, client_after = _group_cpu_s(group_id), _children_cpu_s()
    positions = min(offset + measured["issued"], len(sequence))

    requests = measured["requests"] - measured["fillers"]
    socket_errors = measured["connect"] + measured["read"] + measured["write"]
    socket_errors += measured["timeout"]
    points, previous = [], 0.0
    for percent, micros in measured["quantiles_us"]:
        points.append((micros / 1000, (percent - previous) / 100 * measured["requests"]))
        previous = percent
    # Which positions were answered is not known to wrk: the first `requests` of the
    # measured part stand for them (at most `--connections` were still in flight).
    counted = sequence[offset : offset + requests]
    words = Counter(
        {w: measured[w] for w in ("received", "duplicate", "applied", "other") if measured[w]}
    )
    problems = []
    for name, data in (("warm-up", warmup), ("measured part", measured)):
        errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
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
        errors=measured["other"] + socket_errors,
        latency_ms=points,
        unique=sum(1 for _, duplicate in counted if not duplicate),
        duplicates=sum(1 for _, duplicate in counted if duplicate),
        warmup_requests=warmup["requests"] - warmup["fillers"],
        exhausted=bool(measured["fillers"]) or positions >= len(sequence),
        positions=positions,
        problems=problems,
        server_cpu_s={k: cpu_after[k] - cpu_before[k] for k in cpu_after},
        client_cpu_s=client_after - client_before,
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


def _queue_counts(url: str) -> dict[str, int]:
    """Messages waiting in the broker by task name, and unacknowledged ones ("unacked")."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        counts: Counter = Counter()
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == b"list":
                for raw in client.lrange(key, 0, -1):
                    try:
                        counts[json.loads(raw)["headers"]["task"]] += 1
                    except (ValueError, KeyError, TypeError):
                        counts["?"] += 1
            elif key == b"unacked" and kind == b"hash":
                counts["unacked"] += client.hlen(key)
        return dict(counts)
    finally:
        client.close()


def _decide_queue_length(client) -> int:
    """Messages for the worker still waiting or taken and not acknowledged."""
    waiting = sum(client.llen(key) for key in client.scan_iter(match=f"{DECIDE_QUEUE}*"))
    return waiting + client.hlen("unacked")


def _decide(ctx: Context, env: dict[str, str]) -> Decided:
    """Start the worker, wait until every stored event is decided and its messages taken."""
    import psycopg
    import redis

    name, connect = _connect_args(env["DATABASE_URL"])
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
        with _worker(env, log_path) as process:
            left = waiting_before
            while left:
                if time.monotonic() - launched > DECIDE_TIMEOUT_S:
                    raise BenchError(
                        f"{left:,} events still undecided after {DECIDE_TIMEOUT_S:.0f} s\n"
                        + _tail(log_path)
                    )
                if _has_exited(process.pid):
                    raise BenchError(f"the Celery worker exited:\n{_tail(log_path)}")
                time.sleep(POLL_S)
                left = waiting()
                if cpu_first is None and left < waiting_before:
                    cpu_first = _group_cpu_s(process.pid)
                    decided_first = waiting_before - left
                    startup_s = time.monotonic() - launched
            wall_s = time.monotonic() - launched
            cpu_last = _group_cpu_s(process.pid)  # before the worker's backends go
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
        cpu_s={k: cpu_last[k] - cpu_first[k] for k in cpu_last},
        cpu_events=waiting_before - decided_first,
        cpu_stretch_s=wall_s - startup_s,
        busy_before_pct=busy,
        other_pct=other,
        left_in_queue=left_in_queue,
        sessions=max(0, opened),
        log_path=log_path,
    )


@contextmanager
def _worker(env: dict[str, str], log_path: Path):
    """A prefork worker on the default queue, in its own process group, always stopped."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        WORKER_APP,
        "worker",
        "--pool=prefork",
        f"--concurrency={WORKER_CONCURRENCY}",
        "-Q",
        DECIDE_QUEUE,
        "-n",
        "bench-payments@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its CPU counted, stopped whole
        )
        try:
            yield process
        finally:
            _signal_group(process.pid, signal.SIGTERM)  # warm shutdown: finish the task at hand
            deadline = time.monotonic() + 10
            while not _has_exited(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _has_exited(process.pid):
                log("the Celery worker did not stop in 10 s; killing it")
            _signal_group(process.pid, signal.SIGKILL)  # also what a dead parent left behind
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"the Celery worker (pid {process.pid}) survived SIGKILL")


def _signal_group(pid: int, number: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def _has_exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- CPU of a process group and of the PostgreSQL backends (Linux /proc) ---------------------

_TICK_S = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def _group_cpu_s(process_group: int) -> dict[str, float]:
    """CPU seconds so far of a process group (gunicorn, the worker) and of PostgreSQL.

    PostgreSQL is the live backends of this database plus what the postmaster's exited
    children took (a backend's CPU moves there when it exits): the Celery worker closes its
    database connection after every task, so its backends are short-lived. That second part
    counts any database's backends, so it is exact only when nothing else uses the server.
    """
    totals = {"group": 0.0, "postgres": 0.0}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return totals  # not Linux: the CPU figures read 0
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu_s = (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime
            if int(fields[2]) == process_group:  # pgrp: the leader started its own group
                totals["group"] += cpu_s
                continue
            if stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
                continue
            # "postgres: 15/main: postgres imigrasi_bench_payments 127.0.0.1(5432) idle"
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if cmdline.startswith("postgres:"):
                if DATABASE_NAME in cmdline.split():
                    totals["postgres"] += cpu_s
            elif " -D " in f" {cmdline} ":  # the postmaster: its exited children's CPU
                totals["postgres"] += (int(fields[13]) + int(fields[14])) * _TICK_S
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return totals


# --- Report -----------------------------------------------------------------------------------


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _report(ctx: Context, run: Http, decided: Decided, verified: dict) -> None:
    options = ctx.options
    cores = os.cpu_count() or 1
    per_s = run.requests / run.seconds
    met = per_s >= WEBHOOK_TARGET_PER_S
    count = max(run.requests, 1)
    gunicorn_ms = run.server_cpu_s["group"] * 1000 / count
    postgres_ms = run.server_cpu_s["postgres"] * 1000 / count
    # What the server could do if it had every core to itself (no client, nothing else).
    ceiling = cores * 1000 / (gunicorn_ms + postgres_ms) if gunicorn_ms + postgres_ms else 0.0
    per_tool = {}
    if run.tool == "python-threads":
        per_tool = {
            "unique_p50_ms": round(_percentile(run.unique_ms, 50), 1),
            "duplicate_p50_ms": round(_percentile(run.duplicate_ms, 50), 1),
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
        f"{run.workers} workers): target >= {WEBHOOK_TARGET_PER_S:.0f} "
        + ("met" if met else "NOT met")
    )
    log(
        f"  server CPU per webhook: gunicorn {gunicorn_ms:.1f} ms + PostgreSQL "
        f"{postgres_ms:.1f} ms, i.e. at most {ceiling:.0f}/s on {cores} cores with nothing "
        f"else running; the client ({run.tool}) took {run.client_cpu_s / run.seconds:.0%} "
        "of a core"
    )

    decided_count = max(decided.cpu_events, 1)
    worker_ms = decided.cpu_s["group"] * 1000 / decided_count
    worker_pg_ms = decided.cpu_s["postgres"] * 1000 / decided_count
    worker_ceiling = cores * 1000 / (worker_ms + worker_pg_ms) if worker_ms + worker_pg_ms else 0
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
        + f": target {DUPLICATE_EFFECTS_TARGET} "
        + ("met" if effects_met else "NOT met")
    )

    receipt = verified["receipt"]
    median = statistics.median(receipt["times_ms"])
    receipt_met = median <= RECEIPT_TARGET_MS
    ctx.emit(
        "payment_receipt_pdf.median_ms",
        median,
        "ms",
        renders=len(receipt["times_ms"]),
        first_render_ms=round(receipt["first_ms"], 1),
        min_ms=round(min(receipt["times_ms"]), 1),
        max_ms=round(max(receipt["times_ms"]), 1),
        bill=receipt["code"],
        pdf_bytes=receipt["bytes"],
        target=RECEIPT_TARGET_MS,
        target_met=receipt_met,
    )
    log(
        f"payment_receipt_pdf.median_ms {median:.1f} (warm-up render "
        f"{receipt['first_ms']:.0f} ms): target <= {RECEIPT_TARGET_MS:.0f} "
        + ("met" if receipt_met else "NOT met")
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


# --- The Django side: `python -m bench.groups.payments seed|verify PATH` -------------------------

FIRST_NAMES = [
    "Ani", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gita", "Hadi", "Indah", "Joko",
    "Kartika", "Lestari", "Made", "Nur", "Putu", "Rina", "Siti", "Taufik", "Wayan", "Yusuf",
]  # fmt: skip
LAST_NAMES = [
    "Lestari", "Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama", "Nugroho",
    "Siregar", "Harahap", "Nasution", "Simanjuntak", "Gunawan", "Rahmawati", "Setiawan",
]  # fmt: skip
PLACES = ["Metro", "Gunung Sugih", "Liwa", "Bengkulu", "Padang", "Bandar Lampung", "Palembang"]
DESTINATIONS = ["Arab Saudi", "Malaysia", "Singapura", "Jepang", "Korea Selatan", "Australia"]


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
    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from applications.models import Application, Person, Service, StatusEvent
    from applications.services import REFERENCE_ALPHABET, REFERENCE_RANDOM_LENGTH
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
        citizens = User.objects.bulk_create(
            [
                User(
                    email=f"bench.payer.{i}@example.invalid",
                    full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(21_000)),
                    sex=rng.choice("LP"),
                    address=f"Jl. Merdeka No. {rng.randrange(1, 300)}, {rng.choice(PLACES)}",
                    phone=f"+62812{i:08d}",
                    phone_verified_at=now,
                    preferred_language="en" if rng.random() < 0.15 else "id",
                    password=make_password(None),
                    email_verified_at=now,
                    privacy_consent_at=now,
                )
                for i in range(CITIZENS)
            ],
            batch_size=1000,
        )
        persons = Person.objects.bulk_create(
            [
                Person(
                    owner=user,
                    relationship=Person.Relationship.SELF,
                    full_name=user.full_name,
                    date_of_birth=user.date_of_birth,
                    sex=user.sex,
                    address=user.address,
                    place_of_birth=rng.choice(PLACES),
                    father_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    mother_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                )
                for user in citizens
            ],
            batch_size=1000,
        )
        references: set[str] = set()
        applications = []
        for n in range(BILLS):
            person = persons[n % len(persons)]
            service = rng.choice(services)
            office = rng.choice(offices)
            submitted = now - dt.timedelta(hours=rng.uniform(1, 100))
            while True:
                reference = f"{service.reference_prefix}-{office.code}-{submitted:%y}-" + "".join(
                    rng.choices(REFERENCE_ALPHABET, k=REFERENCE_RANDOM_LENGTH)
                )
                if reference not in references:
                    references.add(reference)
                    break
            passport = service.details != "permit"
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
                    full_name=person.full_name,
                    date_of_birth=person.date_of_birth,
                    place_of_birth=person.place_of_birth,
                    sex=person.sex,
                    address=person.address,
                    father_name=person.father_name,
                    mother_name=person.mother_name,
                    travel_purpose=rng.choice(["tourism", "pilgrimage", "work", "family"]),
                    destination=rng.choice(DESTINATIONS) if passport else "",
                    nationality="" if passport else "Malaysia",
                    sponsor_name="" if passport else person.full_name,
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
            code = payment_services.make_code()
            while code in codes:
                code = payment_services.make_code()
            codes.add(code)
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


def _broker_messages() -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in the broker's lists (the parked ones)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
    messages = []
    for key in client.scan_iter(count=1000):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            try:
                message = json.loads(raw)
                body = message["body"]
                if message.get("properties", {}).get("body_encoding") == "base64":
                    body = base64.b64decode(body)
                args = json.loads(body)[0]
                messages.append((message["headers"]["task"], list(args)))
            except (ValueError, KeyError, TypeError, IndexError):
                messages.append(("?", []))
    return messages


def _beyond_one(counts) -> int:
    return sum(n - 1 for n in counts if n > 1)


def _verify(path: str) -> dict:
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

    messages = _broker_messages()
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
    started = time.perf_counter()
    pdf = receipts.payment_receipt_pdf(bill)
    first_ms = (time.perf_counter() - started) * 1000
    times_ms = []
    for _ in range(RECEIPT_RENDERS):
        started = time.perf_counter()
        receipts.payment_receipt_pdf(bill)
        times_ms.append((time.perf_counter() - started) * 1000)

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
        "receipt": {
            "code": bill.code,
            "first_ms": first_ms,
            "times_ms": times_ms,
            "bytes": len(pdf),
        },
    }


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"seed", "verify"}:
        print("usage: python -m bench.groups.payments seed|verify PATH", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imigrasi.settings")
    import django

    django.setup()
    result = _seed(argv[1]) if argv[0] == "seed" else _verify(argv[1])
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
