"""`queueing`: interview bookings racing for places, kiosk tickets over HTTP, the display board.

The group has a database of its own (`imigrasi_bench_queueing` on the
server of DATABASE_URL when that is PostgreSQL, else on
postgres@127.0.0.1:5432; BENCH_QUEUEING_DATABASE_URL names another). Every
run books places and issues numbers, so the database is made afresh each run
from a migrated template (`imigrasi_bench_queueing_template`: `migrate` and
`seed_demo`, rebuilt when a migration file changes or with
BENCH_QUEUEING_RESEED=1) with CREATE DATABASE ... TEMPLATE, then seeded in a
Django process of its own: an office of the bench's own, `BNC`, open
00.00-23.59 every day of the week in the time zone (WIB, WITA or WIT) whose
local time is farthest from midnight, with no holiday in the booking window
(so the kiosk is open whenever the bench runs), 5-minute slots of 3 interview
places for the whole window, a same-day quota of 32,767 (the field's
largest), four counters and an officer; 2,000 citizens with 4,000 paid
passport applications at BNC and the history those have (status events and
their messages), then ANALYZE.

The cache is REDIS_URL (else redis://127.0.0.1:6379/14) under a key prefix of
the run's own (CACHE_KEY_PREFIX), whose keys are deleted at the end; Celery
publishes to a Redis database of the bench's own (BENCH_QUEUEING_BROKER_URL,
else redis://127.0.0.1:6379/10), emptied before and after: only the bookings
queue messages (their notifications), and nobody consumes them.

1. Bookings, in-process: `--connections` clients (threads in 4 processes
   forked by `python -m bench.groups.queueing book`) each take paid
   applications in turn and book each one's interview with the real
   `queueing.bookings.booking_interview`, always in the earliest slot with a
   place left (as the booking page lists them): they all race for one slot of
   3 places at a time, the losers are refused ("full") and try the next.
   `--warmup` seconds are not counted, then `--duration` seconds are.
2. Tickets over HTTP: gunicorn as in `home` (3 sync workers, production
   settings); 64 connections POST the kiosk's walk-in form as an enabled
   kiosk does (its signed cookie, a CSRF cookie and token), W and K in turn;
   each ticket is a 302 to its page. Then, from the database, per office, day
   and prefix, the numbers used twice and the numbers skipped.
3. The board: four counters call a ticket each (two finish and call again),
   then the board's content `/antrian/BNC/layar/isi/` polled with the last
   ETag (If-None-Match, as the board's page does), the same without
   (`board.full_rps`), and the bare view `/bench/hello`, in alternating
   rounds as in `home`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import itertools
import json
import multiprocessing
import os
import random
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from bench import cpu, load, seeding
from bench import database as databases
from bench.core import (
    BASE_DIR,
    BUSY_WARNING_PCT,
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
from bench.server import Gunicorn

DATABASE_NAME = "imigrasi_bench_queueing"
TEMPLATE_NAME = "imigrasi_bench_queueing_template"
TEMPLATE_VERSION = 1
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"  # the cache, under a prefix of the run's own
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/10"  # what the bookings publish; emptied
RANDOM_SEED = 2028

OFFICE_CODE = "BNC"
SLOT_MINUTES = 5
INTERVIEW_CAPACITY = 3
SAME_DAY_QUOTA = 32_767  # a PositiveSmallIntegerField: its largest value
COUNTERS = 4
CITIZENS = 2_000
APPLICATIONS = 4_000  # paid, each waiting for its interview to be booked

BOOKING_PROCESSES = 4  # the clients are threads spread over these processes
BOOKING_START_DELAY_S = 4.0  # for the processes to set up and connect before the start
UNCONTENDED_BOOKINGS = 20  # then booked one at a time, nobody racing: the base cost
TICKET_CONNECTIONS = 64

TICKETS_TARGET_PER_S = 300.0
BOARD_TARGET_RATIO = 0.3
OVERBOOKED_TARGET = 0

KIOSK_PATH = f"/antrian/{OFFICE_CODE}/kiosk/"
WALK_IN_PATH = f"/antrian/{OFFICE_CODE}/kiosk/ambil/"
BOARD_PATH = f"/antrian/{OFFICE_CODE}/layar/isi/"
HELLO_PATH = "/bench/hello"
PAGES = {"hello": HELLO_PATH, "board": BOARD_PATH, "board_full": BOARD_PATH}
WRK_TICKETS = Path(__file__).resolve().parent.parent / "wrk_queueing_tickets.lua"
WRK_BOARD = Path(__file__).resolve().parent.parent / "wrk_queueing_board.lua"


@group("queueing")
def queueing(ctx: Context) -> None:
    env, database = _environment(ctx)
    with tempfile.TemporaryDirectory(prefix="bench-queueing-") as tmp:
        directory = Path(tmp)
        seeded_path = directory / "seeded.json"
        try:
            _prepare(ctx, env, database)
            _flush_broker(env)
            log(
                f"queueing: seeding office {OFFICE_CODE}, {APPLICATIONS:,} paid applications of "
                f"{CITIZENS:,} citizens"
            )
            started = time.monotonic()
            seeded = _driver(env, "seed", seeded_path, timeout_s=300)
            log(
                f"queueing: seeded {seeded['applications']:,} applications, "
                f"{seeded['slots']:,} interview slots of {INTERVIEW_CAPACITY} places "
                f"({seeded['time_zone']}, local time {seeded['local_time']}) "
                f"in {time.monotonic() - started:.0f} s"
            )
            with ctx.own_figures(
                database=database.vendor,
                database_url=database.url,
                cache="redis",
                broker=without_password(env["CELERY_BROKER_URL"]),
            ):
                problems = _bookings(ctx, env, seeded_path)
                served = _serve(ctx, env, seeded, directory)
                log("queueing: counting the numbers given, per office, day and prefix")
                counted = _driver(env, "verify", seeded_path, timeout_s=120)
                _report_tickets(ctx, served.tickets, counted)
                _report_board(ctx, served.board)
                problems += _load_problems(served)
                if problems:
                    for problem in problems[:10]:
                        log(f"  {problem}")
                    server_log = ctx.output.parent / "gunicorn.log"
                    raise BenchError(f"{len(problems)} problems (server log: {server_log})")
        finally:
            _clean_redis(env)


# --- The database and Redis --------------------------------------------------------------------


def _environment(ctx: Context) -> tuple[dict[str, str], Database]:
    env = databases.group_environment(ctx.env, DATABASE_NAME, "BENCH_QUEUEING_DATABASE_URL")
    env["REDIS_URL"] = (env.get("REDIS_URL") or "").strip() or DEFAULT_REDIS_URL
    # The run's own keys: nothing cached by an earlier run (an office of another database,
    # a board version) is found, and the keys can be deleted at the end.
    env["CACHE_KEY_PREFIX"] = f"bench-queueing-{secrets.token_hex(6)}"
    env["CELERY_BROKER_URL"] = (
        env.get("BENCH_QUEUEING_BROKER_URL") or ""
    ).strip() or DEFAULT_BROKER_URL
    env["CELERY_TASK_ALWAYS_EAGER"] = "false"  # notifications are queued, as in production
    return env, databases.require_postgresql(env, "queueing")


def _signature() -> str:
    """What the template depends on: its version and the schema (every migration file)."""
    schema = hashlib.sha256()
    for path in sorted(BASE_DIR.glob("*/migrations/[0-9]*.py")):
        schema.update(str(path.relative_to(BASE_DIR)).encode() + b"\0")
        schema.update(hashlib.sha256(path.read_bytes()).digest())
    return f"imigrasi bench queueing template v{TEMPLATE_VERSION}, {schema.hexdigest()[:16]}"


def _prepare(ctx: Context, env: dict[str, str], database: Database) -> None:
    """A fresh copy of the migrated template as the run's database; static files collected."""
    template_env = {**env, "DATABASE_URL": databases.with_name(env["DATABASE_URL"], TEMPLATE_NAME)}
    template = Database.from_env(template_env)
    expected = _signature()
    current = databases.mark(template_env["DATABASE_URL"], via="postgres") == expected
    if env_flag(env, "BENCH_QUEUEING_RESEED") or not current:
        log(f"queueing: building the template {template.url} (migrate, seed_demo)")
        databases.rebuild(ctx, template_env, template)
        databases.set_mark(template_env["DATABASE_URL"], expected, via="postgres")
    log(f"queueing: database {database.url}, a fresh copy of {TEMPLATE_NAME}")
    databases.drop(env, database)
    databases.create_from_template(env["DATABASE_URL"], TEMPLATE_NAME)
    ctx.manage("collectstatic", "--no-input", "-v", "0", env=env)


def _database_name(env: dict[str, str]) -> str:
    """The group's database (BENCH_QUEUEING_DATABASE_URL may name another than ours)."""
    return databases.connect_args(env["DATABASE_URL"])[0]


def _driver(env: dict[str, str], command: str, path: Path, *, timeout_s: float) -> dict:
    """This module's Django side, in a process of its own with the group's settings."""
    label = f"queueing {command}"
    module = "bench.groups.queueing"
    return run_driver(module, command, str(path), env=env, label=label, timeout_s=timeout_s)


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def _flush_broker(env: dict[str, str]) -> None:
    client = _redis(env["CELERY_BROKER_URL"])
    try:
        client.flushdb()
    except Exception as e:
        raise BenchError(f"Redis at {without_password(env['CELERY_BROKER_URL'])}: {e}") from e
    finally:
        client.close()


def _broker_messages(env: dict[str, str]) -> int:
    client = _redis(env["CELERY_BROKER_URL"])
    try:
        return sum(
            client.llen(key) for key in client.scan_iter(count=1000) if client.type(key) == b"list"
        )
    finally:
        client.close()


def _clean_redis(env: dict[str, str]) -> None:
    """The run's cache keys deleted, the broker emptied (nobody is to send those messages)."""
    try:
        cache = _redis(env["REDIS_URL"])
        try:
            keys = list(cache.scan_iter(match=f"{env['CACHE_KEY_PREFIX']}:*", count=1000))
            for start in range(0, len(keys), 500):
                cache.delete(*keys[start : start + 500])
        finally:
            cache.close()
        _flush_broker(env)
    except Exception as e:  # the figures are out already; say so and go on
        log(f"queueing: could not clean Redis up: {e}")


# --- Bookings ----------------------------------------------------------------------------------


def _bookings(ctx: Context, env: dict[str, str], seeded_path: Path) -> list[str]:
    """Race for places in-process; the figures reported, the problems found returned."""
    options = ctx.options
    clients = options.connections
    processes = min(BOOKING_PROCESSES, clients)
    log(
        f"queueing: booking interviews for {options.warmup_s} + {options.duration_s} s, "
        f"{clients} clients ({processes} processes), booking_interview() in-process"
    )
    spec_path = seeded_path.with_name("booking.json")
    spec_path.write_text(
        json.dumps(
            {
                "seeded": str(seeded_path),
                "clients": clients,
                "processes": processes,
                "warmup_s": options.warmup_s,
                "duration_s": options.duration_s,
                "database": _database_name(env),
            }
        ),
        encoding="utf-8",
    )
    timeout = BOOKING_START_DELAY_S + options.warmup_s + options.duration_s + 120
    busy = cpu.busy_percent()
    if busy is not None and busy > BUSY_WARNING_PCT:
        log(f"the machine is busy: {busy:.0f} % of the CPU in use before the bookings")
    usage = cpu.OtherUsage.start()
    booked = _driver(env, "book", spec_path, timeout_s=timeout)
    other = usage.percent() if usage else None
    booked["messages_queued"] = _broker_messages(env)
    booked["cpu"] = {
        "cpu_busy_before_pct": round(busy, 1) if busy is not None else None,
        # PostgreSQL is another process here: it takes a good share of the machine.
        "cpu_other_pct": round(other, 1) if other is not None else None,
    }
    return _report_bookings(ctx, booked)


def _report_bookings(ctx: Context, booked: dict) -> list[str]:
    seconds = booked["seconds"]
    counts = booked["counts"]
    per_s = counts["booked"] / seconds
    attempts = sum(counts.values())
    attempts_per_s = attempts / seconds
    about = {
        "clients": booked["clients"],
        "processes": booked["processes"],
        "duration_s": ctx.options.duration_s,
        "warmup_s": ctx.options.warmup_s,
        "seconds": round(seconds, 3),
        "slot_capacity": INTERVIEW_CAPACITY,
        "function": "queueing.bookings.booking_interview",
        **booked["cpu"],
    }
    ctx.emit(
        "booking.per_s",
        per_s,
        "bookings/s",
        bookings=counts["booked"],
        attempts=attempts,
        refused_full=counts["full"],
        refused_other=counts["refused"],
        errors=counts["error"],
        booked_p50_ms=booked["booked_p50_ms"],
        booked_p99_ms=booked["booked_p99_ms"],
        refused_p50_ms=booked["refused_p50_ms"],
        choose_p50_ms=booked["choose_p50_ms"],
        slots_filled=booked["slots_filled"],
        bookings_total=booked["bookings_total"],
        ran_out_of_applications=booked["ran_out"],
        uncontended_p50_ms=booked["uncontended_p50_ms"],
        queries_per_booking=booked["queries_per_booking"],
        client_cpu_ms_per_booking=booked["client_cpu_ms_per_booking"],
        postgres_cpu_ms_per_booking=booked["postgres_cpu_ms_per_booking"],
        client_cpu_ms_per_attempt=booked["client_cpu_ms_per_attempt"],
        postgres_cpu_ms_per_attempt=booked["postgres_cpu_ms_per_attempt"],
        messages_queued=booked["messages_queued"],
        **about,
        target=None,
    )
    ctx.emit(
        "booking.attempts_per_s",
        attempts_per_s,
        "attempts/s",
        attempts=attempts,
        booked=counts["booked"],
        refused_full=counts["full"],
        refused_other=counts["refused"],
        errors=counts["error"],
        **about,
        target=None,
    )
    log(
        f"booking.per_s {per_s:.0f} ({counts['booked']} booked, {counts['full']} refused full, "
        f"{attempts_per_s:.0f} attempts/s, {booked['clients']} clients racing for one slot of "
        f"{INTERVIEW_CAPACITY} at a time; booked p50 {booked['booked_p50_ms']:.0f} ms, "
        f"refused p50 {booked['refused_p50_ms']:.0f} ms; alone {booked['uncontended_p50_ms']} "
        "ms): informational"
    )
    checks = booked["checks"]
    overbooked = checks["overbooked"]
    met = overbooked <= OVERBOOKED_TARGET
    ctx.emit(
        "booking.overbooked",
        overbooked,
        "slots",
        booked_over_capacity=checks["booked_over_capacity"],
        active_over_capacity=checks["active_over_capacity"],
        count_mismatched=checks["count_mismatched"],
        applications_double_booked=checks["applications_double_booked"],
        scheduled_without_booking=checks["scheduled_without_booking"],
        booked_without_scheduled=checks["booked_without_scheduled"],
        slots_checked=checks["slots_checked"],
        bookings_total=booked["bookings_total"],
        client_bookings=booked["client_bookings"],
        target=OVERBOOKED_TARGET,
        target_met=met,
    )
    inconsistent = {k: v for k, v in checks.items() if v and k != "slots_checked"}
    log(
        f"booking.overbooked {overbooked} over {checks['slots_checked']:,} slots "
        f"({booked['bookings_total']:,} bookings)"
        + (f", inconsistencies: {inconsistent}" if inconsistent else "")
        + f": target {OVERBOOKED_TARGET} {verdict(met)}"
    )
    problems = list(booked["problems"])
    if counts["error"] or counts["refused"]:
        problems.append(
            f"{counts['error']} booking attempts failed, {counts['refused']} were refused "
            f"other than full: {booked['error_samples']}"
        )
    if booked["client_bookings"] != booked["bookings_total"]:
        problems.append(
            f"clients booked {booked['client_bookings']}, the database holds "
            f"{booked['bookings_total']} bookings"
        )
    inconsistent = {k: v for k, v in checks.items() if v and k != "slots_checked"}
    if inconsistent:
        problems.append(f"the bookings and the slots disagree: {inconsistent}")
    return problems


# --- The server: tickets and the board -----------------------------------------------------


@dataclass
class Run:
    """One URL's (or the kiosk's) load, whichever client sent it."""

    tool: str
    connections: int
    seconds: float
    statuses: Counter  # answers by status (0: socket error or timeout)
    latency_ms: list[tuple[float, float]]  # (milliseconds, weight) as in load.LoadResult
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return sum(n for status, n in self.statuses.items() if status)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(s, 0) for s in statuses)

    def percentile_ms(self, percent: float) -> float:
        return percentile(
            (ms for ms, _ in self.latency_ms), percent, (w for _, w in self.latency_ms)
        )


def _combine(runs: list[Run]) -> Run:
    statuses: Counter = Counter()
    for run in runs:
        statuses.update(run.statuses)
    return Run(
        tool=runs[0].tool,
        connections=runs[0].connections,
        seconds=sum(r.seconds for r in runs),
        statuses=statuses,
        latency_ms=[point for r in runs for point in r.latency_ms],
    )


@dataclass
class Served:
    tickets: Tickets
    board: Board


@dataclass
class Tickets:
    run: Run
    warmup: Run
    workers: int


@dataclass
class Board:
    runs: dict[str, list[Run]]
    workers: int
    body_bytes: int
    called: dict


def _serve(ctx: Context, env: dict[str, str], seeded: dict, directory: Path) -> Served:
    with ctx.server(env=env) as server:
        group_id = server.process.pid if server.process else -1
        kiosk = _kiosk_session(server, seeded["kiosk_cookie"])
        tickets = _tickets(ctx, server, kiosk, directory, group_id)
        log("queueing: four counters call a ticket each, two finish and call again")
        called = _driver(env, "call", directory / "seeded.json", timeout_s=120)
        board = _board(ctx, server, directory, called)
    return Served(tickets, board)


@dataclass(frozen=True)
class Kiosk:
    cookie: str  # the Cookie header: the kiosk's signed cookie and the CSRF cookie
    token: str  # the form's csrfmiddlewaretoken


def _kiosk_session(server: Gunicorn, kiosk_cookie: list[str]) -> Kiosk:
    """The kiosk page as an enabled device gets it: open, with the CSRF cookie and token."""
    name, value = kiosk_cookie
    answer = server.request("GET", KIOSK_PATH, headers={"Cookie": f"{name}={value}"})
    if answer.status != 200:
        raise BenchError(f"GET {KIOSK_PATH} answered {answer.status}\n{server.log_tail()}")
    page = answer.body.decode("utf-8", "replace")
    if "kiosk-closed" in page:
        raise BenchError(f"the kiosk of {OFFICE_CODE} says it is closed: check its opening hours")
    csrf = None
    for header, text in answer.headers:
        if header.lower() == "set-cookie":
            jar = SimpleCookie()
            jar.load(text)
            if "csrftoken" in jar:
                csrf = jar["csrftoken"].value
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if csrf is None or found is None:
        raise BenchError(f"GET {KIOSK_PATH} gave no CSRF cookie (csrftoken) or form token")
    return Kiosk(f"{name}={value}; csrftoken={csrf}", found.group(1))


def _walk_in_body(kiosk: Kiosk, prefix: str) -> str:
    return f"csrfmiddlewaretoken={kiosk.token}&prefix={prefix}&priority="


def _form_headers(cookie: str) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}


def _tickets(
    ctx: Context, server: Gunicorn, kiosk: Kiosk, directory: Path, group_id: int
) -> Tickets:
    options = ctx.options
    tool = ctx.tool()
    # Before the load: a device without the kiosk cookie is refused, an enabled one gets a
    # ticket (302 to its page, which answers 200).
    csrf_only = kiosk.cookie.split("; ", 1)[1]
    locked = server.request(
        "POST", WALK_IN_PATH, body=_walk_in_body(kiosk, "K"), headers=_form_headers(csrf_only)
    )
    if locked.status != 403:
        raise BenchError(f"a walk-in without the kiosk cookie answered {locked.status}, not 403")
    first = server.request(
        "POST", WALK_IN_PATH, body=_walk_in_body(kiosk, "W"), headers=_form_headers(kiosk.cookie)
    )
    location = dict((k.lower(), v) for k, v in first.headers).get("location", "")
    if first.status != 302 or "/antrian/tiket/" not in location:
        raise BenchError(
            f"the kiosk's walk-in form answered {first.status} {location!r}, not a 302 to the "
            f"ticket\n{first.body[:500]!r}\n{server.log_tail()}"
        )
    page = server.get(urlsplit(location).path + "?" + urlsplit(location).query)
    if page.status != 200:
        raise BenchError(f"the ticket's page answered {page.status}")

    def run(seconds: int) -> Run:
        if tool == "wrk":
            return _tickets_wrk(server, kiosk, directory, seconds, options.wrk_threads)
        return _tickets_threads(server, kiosk, seconds)

    log(f"queueing: kiosk tickets, warm-up {options.warmup_s} s, {TICKET_CONNECTIONS} connections")
    warmup = run(options.warmup_s)
    log(
        f"queueing: kiosk tickets, measuring {options.duration_s} s, {TICKET_CONNECTIONS} "
        f"connections, {tool}, W and K in turn"
    )
    client_s = cpu.children_s if tool == "wrk" else cpu.process_s
    with _cpu_spent(group_id, _database_name(server.env), client_s) as spent:
        measured = run(options.duration_s)
    measured.server_cpu_s = spent["server"]
    measured.client_cpu_s = spent["client"]
    return Tickets(measured, warmup, server.workers)


def _tickets_wrk(
    server: Gunicorn, kiosk: Kiosk, directory: Path, seconds: int, threads: int
) -> Run:
    script = load.wrk_script(
        WRK_TICKETS.read_text(encoding="utf-8"), directory / "queueing_tickets.lua"
    )
    data = load.wrk_json(
        server.url(WALK_IN_PATH),
        script=script,
        connections=TICKET_CONNECTIONS,
        duration_s=seconds,
        threads=threads,
        args=(WALK_IN_PATH, kiosk.cookie, kiosk.token),
    )
    return _wrk_run(data, {302: data["redirects"], 400: data["refused"], 599: data["other"]})


def _wrk_run(data: dict, statuses: dict[int, int]) -> Run:
    counted: Counter = Counter({s: n for s, n in statuses.items() if n})
    if load.socket_errors(data):
        counted[0] = load.socket_errors(data)
    return Run(
        tool="wrk",
        connections=0,
        seconds=max(data["duration_us"] / 1e6, 1e-9),
        statuses=counted,
        latency_ms=list(load.quantile_points(data)),
    )


def _tickets_threads(server: Gunicorn, kiosk: Kiosk, seconds: int) -> Run:
    turn = itertools.count()
    bodies = [_walk_in_body(kiosk, "W"), _walk_in_body(kiosk, "K")]
    headers = _form_headers(kiosk.cookie)

    def next_request(state: dict) -> tuple[str, str, str | None, dict[str, str]]:
        return "POST", WALK_IN_PATH, bodies[next(turn) % 2], headers

    return _threads(server, TICKET_CONNECTIONS, seconds, next_request)


def _threads(
    server: Gunicorn,
    clients: int,
    seconds: float,
    next_request: Callable[[dict], tuple[str, str, str | None, dict[str, str]]],
    answered: Callable[[dict, int, dict[str, str]], None] | None = None,
) -> Run:
    """The Python client: `clients` threads in this process, each sending `next_request(state)`
    (method, path, body, headers) on a connection of its own until the deadline."""
    results: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    started = time.perf_counter()
    deadline = started + seconds

    def client(mine: list[tuple[int, float]]) -> None:
        state: dict = {}
        while time.perf_counter() < deadline:
            method, path, body, headers = next_request(state)
            start = time.perf_counter()
            try:
                answer = server.request(method, path, body=body, headers=headers)
            except (OSError, http.client.HTTPException):
                mine.append((0, 0.0))
                continue
            end = time.perf_counter()
            if end <= deadline:
                mine.append((answer.status, (end - start) * 1000))
            if answered is not None:
                answered(state, answer.status, {k.lower(): v for k, v in answer.headers})

    threads = [
        threading.Thread(target=client, args=(results[i],), daemon=True) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    answers = [a for mine in results for a in mine]
    return Run(
        tool="python-threads",
        connections=clients,
        seconds=float(seconds),
        statuses=Counter(status for status, _ in answers),
        latency_ms=[(ms, 1.0) for status, ms in answers if status],
    )


@contextmanager
def _cpu_spent(group_id: int, name: str, client: Callable[[], float]) -> Iterator[dict]:
    """CPU seconds taken in the block by the server (gunicorn's process group, the PostgreSQL
    backends of database `name`) and by the client."""
    before, client_before = cpu.group_and_postgres_s(group_id, name), client()
    spent: dict = {}
    yield spent
    after = cpu.group_and_postgres_s(group_id, name)
    spent["server"] = {key: after[key] - before[key] for key in after}
    spent["client"] = client() - client_before


def _board(ctx: Context, server: Gunicorn, directory: Path, called: dict) -> Board:
    options = ctx.options
    tool = ctx.tool()
    full = server.get(BOARD_PATH)
    etag = dict((k.lower(), v) for k, v in full.headers).get("etag")
    if full.status != 200 or not etag or b"</" not in full.body:
        raise BenchError(f"GET {BOARD_PATH} answered {full.status} without content or ETag")
    again = server.request("GET", BOARD_PATH, headers={"If-None-Match": etag})
    if again.status != 304:
        raise BenchError(f"GET {BOARD_PATH} with its ETag answered {again.status}, not 304")
    hello = server.get(HELLO_PATH)
    if hello.status != 200 or hello.body != b"hello":
        raise BenchError(f"GET {HELLO_PATH} answered {hello.status} {hello.body[:40]!r}")

    rounds = max(1, min(options.rounds, options.duration_s))
    slices = [
        options.duration_s // rounds + (1 if i < options.duration_s % rounds else 0)
        for i in range(rounds)
    ]

    def run(name: str, seconds: int) -> Run:
        return _board_load(ctx, server, directory, name, seconds)

    for name in PAGES:
        run(name, options.warmup_s)
    log(
        f"queueing: measuring {HELLO_PATH}, {BOARD_PATH} with and without If-None-Match for "
        f"{options.duration_s} s each in {len(slices)} rounds, {options.connections} "
        f"connections, {tool}"
    )
    runs: dict[str, list[Run]] = {name: [] for name in PAGES}
    for i, seconds in enumerate(slices):
        order = list(PAGES) if i % 2 == 0 else list(reversed(PAGES))
        for name in order:
            runs[name].append(run(name, seconds))
    return Board(runs, server.workers, len(full.body), called)


def _board_load(ctx: Context, server: Gunicorn, directory: Path, name: str, seconds: int) -> Run:
    options = ctx.options
    path = PAGES[name]
    if ctx.tool() == "wrk":
        if name == "board":
            script = load.wrk_script(
                WRK_BOARD.read_text(encoding="utf-8"), directory / "queueing_board.lua"
            )
            data = load.wrk_json(
                server.url(path),
                script=script,
                connections=options.connections,
                duration_s=seconds,
                threads=options.wrk_threads,
                args=(path,),
            )
            return _wrk_run(
                data, {304: data["not_modified"], 200: data["full"], 599: data["other"]}
            )
        result = load.run_wrk(
            server.url(path),
            connections=options.connections,
            duration_s=seconds,
            threads=options.wrk_threads,
        )
        statuses = Counter({200: result.requests - result.non_2xx, 599: result.non_2xx})
        if result.socket_errors:
            statuses[0] = result.socket_errors
        return Run(
            "wrk", options.connections, result.duration_s, +statuses, list(result.latency_ms)
        )

    def next_request(state: dict) -> tuple[str, str, str | None, dict[str, str]]:
        etag = state.get("etag") if name == "board" else None
        return "GET", path, None, {"If-None-Match": etag} if etag else {}

    def answered(state: dict, status: int, headers: dict[str, str]) -> None:
        if status == 200 and "etag" in headers:
            state["etag"] = headers["etag"]

    return _threads(server, options.connections, seconds, next_request, answered)


# --- Report ------------------------------------------------------------------------------------


def _report_tickets(ctx: Context, tickets: Tickets, counted: dict) -> None:
    options = ctx.options
    run = tickets.run
    cores = os.cpu_count() or 1
    issued = run.count(302)
    per_s = issued / run.seconds
    met = per_s >= TICKETS_TARGET_PER_S
    gunicorn_ms = run.server_cpu_s.get("group", 0.0) * 1000 / max(issued, 1)
    postgres_ms = run.server_cpu_s.get("postgres", 0.0) * 1000 / max(issued, 1)
    ceiling = cores * 1000 / (gunicorn_ms + postgres_ms) if gunicorn_ms + postgres_ms else 0.0
    ctx.emit(
        "tickets.per_s",
        per_s,
        "tickets/s",
        path=WALK_IN_PATH,
        requests=run.requests,
        tickets=issued,
        refused=run.count(400),
        other=run.requests - run.count(302, 400),
        socket_errors=run.statuses.get(0, 0),
        seconds=round(run.seconds, 3),
        p50_ms=round(run.percentile_ms(50), 1),
        p99_ms=round(run.percentile_ms(99), 1),
        warmup_tickets=tickets.warmup.count(302),
        prefixes="W and K in turn",
        tool=run.tool,
        connections=TICKET_CONNECTIONS,
        duration_s=options.duration_s,
        warmup_s=options.warmup_s,
        workers=tickets.workers,
        gunicorn_cpu_ms_per_ticket=round(gunicorn_ms, 2),
        postgres_cpu_ms_per_ticket=round(postgres_ms, 2),
        cpu_ceiling_per_s=round(ceiling, 1),
        client_cpu_pct=round(run.client_cpu_s / run.seconds * 100, 1),
        target=TICKETS_TARGET_PER_S,
        target_met=met,
    )
    log(
        f"tickets.per_s {per_s:.0f} ({issued} tickets in {run.seconds:.1f} s, p50 "
        f"{run.percentile_ms(50):.0f} ms, p99 {run.percentile_ms(99):.0f} ms, {run.tool}, "
        f"{TICKET_CONNECTIONS} connections, {tickets.workers} workers): "
        f"target >= {TICKETS_TARGET_PER_S:.0f} {verdict(met)}"
    )
    log(
        f"  server CPU per ticket: gunicorn {gunicorn_ms:.1f} ms + PostgreSQL {postgres_ms:.1f} "
        f"ms, i.e. at most {ceiling:.0f}/s on {cores} cores with nothing else running"
    )
    about = {
        "tickets_in_database": counted["tickets"],
        "by_prefix": counted["by_prefix"],
        "sequences": counted["groups"],
        "sequence_ahead": counted["sequence_ahead"],
        "same_day_used": counted["same_day_used"],
        "same_day_mismatch": counted["same_day_mismatch"],
        "answered_tickets": tickets.warmup.count(302) + issued + 1,  # + the check's
    }
    for name in ("duplicates", "gaps"):
        value = counted[name]
        ctx.emit(
            f"tickets.{name}",
            value,
            "count",
            **about,
            worst=counted[f"worst_{name}"],
            target=0,
            target_met=value == 0,
        )
        log(
            f"tickets.{name} {value} over {counted['tickets']:,} tickets in "
            f"{counted['groups']} day/prefix sequences: target 0 {verdict(value == 0)}"
        )


def _report_board(ctx: Context, board: Board) -> None:
    options = ctx.options
    results = {name: _combine(runs) for name, runs in board.runs.items()}
    hello, conditional, full = results["hello"], results["board"], results["board_full"]
    rounds = len(board.runs["hello"])
    context = {
        "tool": hello.tool,
        "connections": options.connections,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "rounds": rounds,
        "workers": board.workers,
    }
    ratio = conditional.rps / hello.rps if hello.rps else 0.0
    full_ratio = full.rps / hello.rps if hello.rps else 0.0
    met = ratio >= BOARD_TARGET_RATIO

    def round_ratios(name: str) -> list[float]:
        return [
            round(r.rps / h.rps, 3) if h.rps else 0.0
            for h, r in zip(board.runs["hello"], board.runs[name], strict=True)
        ]

    for name, bench, result in (
        ("hello", "board.hello_rps", hello),
        ("board", "board.rps", conditional),
        ("board_full", "board.full_rps", full),
    ):
        extra = {}
        if name == "board":
            extra = {
                "not_modified": result.count(304),
                "full_answers": result.count(200),
                "if_none_match": True,
            }
        elif name == "board_full":
            extra = {"if_none_match": False, "ratio": round(full_ratio, 4)}
        ctx.emit(
            bench,
            result.rps,
            "req/s",
            path=PAGES[name],
            requests=result.requests,
            p50_ms=round(result.percentile_ms(50), 1),
            p99_ms=round(result.percentile_ms(99), 1),
            errors=_errors(result, name),
            **extra,
            **({"response_bytes": board.body_bytes} if name != "hello" else {}),
            **context,
        )
    ctx.emit(
        "board.ratio",
        ratio,
        "ratio",
        board_rps=round(conditional.rps, 1),
        hello_rps=round(hello.rps, 1),
        full_ratio=round(full_ratio, 4),
        round_ratios=round_ratios("board"),
        full_round_ratios=round_ratios("board_full"),
        board_state=board.called,
        target=BOARD_TARGET_RATIO,
        target_met=met,
        **context,
    )
    note = verdict(met)
    other = ctx.common.get("cpu_other_pct") or 0
    if other > BUSY_WARNING_PCT:
        note += f", but not reliably: other processes took {other:.0f} % of the CPU"
    log(
        f"board.ratio {ratio:.3f} (board {conditional.rps:.0f} req/s with If-None-Match, "
        f"{conditional.count(304)} answered 304; without {full.rps:.0f} req/s, ratio "
        f"{full_ratio:.3f}; hello {hello.rps:.0f} req/s): target >= {BOARD_TARGET_RATIO} {note}"
    )


def _errors(run: Run, name: str) -> int:
    good = (200, 304) if name == "board" else (200,)
    return run.requests - run.count(*good) + run.statuses.get(0, 0)


def _load_problems(served: Served) -> list[str]:
    problems = []
    tickets = served.tickets
    for label, run in (("warm-up", tickets.warmup), ("measured part", tickets.run)):
        bad = run.requests - run.count(302) + run.statuses.get(0, 0)
        if bad:
            problems.append(
                f"{bad} kiosk answers not 302 in the {label}: "
                f"{dict(sorted((k, v) for k, v in run.statuses.items() if k != 302))}"
            )
    for name, runs in served.board.runs.items():
        bad = sum(_errors(run, name) for run in runs)
        if bad:
            problems.append(f"{bad} errors on {PAGES[name]} ({name})")
    return problems


# --- The Django side: `python -m bench.groups.queueing seed|book|call|verify PATH` ------------


def _time_zone_far_from_midnight(now: dt.datetime) -> str:
    """The office time zone whose local time is farthest from closing (23.59) and midnight, so
    that the kiosk stays open and the day does not change during the run."""
    from zoneinfo import ZoneInfo

    from offices.models import Office

    def margin(name: str) -> int:
        local = now.astimezone(ZoneInfo(name))
        minutes = local.hour * 60 + local.minute
        return min(minutes, 23 * 60 + 59 - minutes)

    return max(Office.TimeZone.values, key=margin)


def _seed(path: str) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from applications.models import Application, Service, StatusEvent
    from applications.services import make_reference
    from notifications.models import Notification
    from offices.models import Counter, Holiday, Office, OpeningHours, StaffMembership
    from queueing import slots
    from queueing.models import Purpose, Quota, Slot
    from queueing.views.public import KIOSK_COOKIE, kiosk_cookie_value

    if Office.objects.filter(code=OFFICE_CODE).exists():
        raise SystemExit(f"the bench database already has an office {OFFICE_CODE}")
    rng = random.Random(RANDOM_SEED)
    now = timezone.now()
    time_zone = _time_zone_far_from_midnight(now)
    with transaction.atomic():
        office = Office.objects.create(
            code=OFFICE_CODE,
            name="Kantor Imigrasi Bench",
            address="Jl. Bench No. 1",
            region="Kota Bench",
            time_zone=time_zone,
        )
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(
                    office=office, weekday=day, opens_at=dt.time(0), closes_at=dt.time(23, 59)
                )
                for day in range(7)
            ]
        )
        first, last = slots.booking_window(office, now)
        # No holiday in the window (the template's national ones included): the kiosk opens.
        Holiday.objects.filter(date__range=(first - dt.timedelta(days=1), last)).delete()
        Quota.objects.update_or_create(
            office=office,
            defaults={
                "slot_minutes": SLOT_MINUTES,
                "interview_capacity": INTERVIEW_CAPACITY,
                "consultation_capacity": 1,
                "same_day_quota": SAME_DAY_QUOTA,
            },
        )
        counters = Counter.objects.bulk_create(
            [Counter(office=office, number=n, name=f"Loket {n}") for n in range(1, COUNTERS + 1)]
        )
        officer = User.objects.create(
            email="bench.officer.queueing@example.invalid",
            full_name="Petugas Bench",
            is_staff=True,
            password=make_password(None),
            email_verified_at=now,
        )
        StaffMembership.objects.create(user=officer, office=office)
        services = [
            s
            for s in Service.objects.active().filter(needs_interview=True).order_by("pk")
            if s.fee_on(timezone.localdate())
        ]
        if not services:
            raise SystemExit("no active service with an interview and a fee")

        citizens = seeding.citizens(
            rng,
            CITIZENS,
            email="bench.queue.{}@example.invalid",
            now=now,
            extra=lambda i: {"phone": f"+62813{i:08d}", "phone_verified_at": now},
        )
        persons = seeding.persons(rng, citizens)
        references: set[str] = set()
        applications = []
        for n in range(APPLICATIONS):
            person = persons[n % len(persons)]
            service = rng.choice(services)
            submitted = now - dt.timedelta(hours=rng.uniform(30, 200))
            reference = seeding.unique(lambda s=service: make_reference(s, office), references)
            applications.append(
                Application(
                    reference=reference,
                    service=service,
                    office=office,
                    applicant_id=person.owner_id,
                    person=person,
                    status="paid",
                    status_changed_at=submitted + dt.timedelta(hours=24),
                    step_reached=4,
                    **seeding.applicant(person, service, rng, ["Malaysia"]),
                    fee_amount=service.fee_on(timezone.localdate()),
                    declaration_at=submitted - dt.timedelta(minutes=1),
                    submitted_at=submitted,
                    created_at=submitted - dt.timedelta(minutes=20),
                )
            )
        applications = Application.objects.bulk_create(applications, batch_size=1000)
        path_of = (
            ("draft", "submitted", "citizen", dt.timedelta(0)),
            ("submitted", "awaiting_payment", "system", dt.timedelta(seconds=30)),
            ("awaiting_payment", "paid", "system", dt.timedelta(hours=24)),
        )
        events = StatusEvent.objects.bulk_create(
            [
                StatusEvent(
                    application=a,
                    from_status=frm,
                    to_status=to,
                    by_id=a.applicant_id if actor == "citizen" else None,
                    actor=actor,
                    at=a.submitted_at + after,
                )
                for a in applications
                for frm, to, actor, after in path_of
            ],
            batch_size=2000,
        )
        # The messages those moves sent: a live portal's history (the bench's PostgreSQL runs
        # without autovacuum: a table analysed empty stays "empty" for the planner).
        event_type = ContentType.objects.get_for_model(StatusEvent)
        owners = {user.pk: user for user in citizens}
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=event.application.applicant_id,
                    event="application.status_changed",
                    channel=channel,
                    status="delivered",
                    address={
                        "sms": owners[event.application.applicant_id].phone,
                        "email": owners[event.application.applicant_id].email,
                    }.get(channel, ""),
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
    made = slots.slots_ensure(office, now=now)
    interview_slots = Slot.objects.filter(office=office, purpose=Purpose.INTERVIEW).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    local = now.astimezone(office.tzinfo)
    seeded = {
        "office_id": office.pk,
        "officer_id": officer.pk,
        "counter_ids": [c.pk for c in counters],
        "applications": [a.pk for a in applications],
        # The device cookie an officer's "enable this kiosk" sets, signed with the server's key.
        "kiosk_cookie": [KIOSK_COOKIE, kiosk_cookie_value(office)],
        "time_zone": time_zone,
        "local_time": f"{local:%H.%M}",
    }
    Path(path).write_text(json.dumps(seeded), encoding="utf-8")
    return {
        "applications": len(applications),
        "citizens": len(citizens),
        "slots": interview_slots,
        "slots_made": made,
        "time_zone": time_zone,
        "local_time": seeded["local_time"],
        "kiosk_cookie": seeded["kiosk_cookie"],
    }


# Bookings: an attempt is (outcome, chose_at, started_at, ended_at), times from time.time().
BOOKED, FULL, REFUSED, ERROR = "booked", "full", "refused", "error"


def _book(path: str) -> dict:
    from django.db import connections

    from bench import cpu as cpus

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    seeded = json.loads(Path(spec["seeded"]).read_text(encoding="utf-8"))
    processes, clients = spec["processes"], spec["clients"]
    ids = seeded["applications"]
    connections.close_all()  # nothing open is shared with the forked processes
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    start_at = time.time() + BOOKING_START_DELAY_S
    stop_at = start_at + spec["warmup_s"] + spec["duration_s"]
    threads_of = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    workers = [
        fork.Process(
            target=_book_process,
            args=(
                ids[i::processes],
                seeded["office_id"],
                threads_of[i],
                start_at,
                stop_at,
                results,
            ),
            daemon=True,
        )
        for i in range(processes)
    ]
    postgres_before = cpus.group_and_postgres_s(-1, spec["database"])["postgres"]
    children_before = cpus.children_s()
    for worker in workers:
        worker.start()
    gathered: list[dict] = []
    for _ in workers:
        gathered.append(results.get(timeout=stop_at - time.time() + 90))
    for worker in workers:
        worker.join(30)
    children_s = cpus.children_s() - children_before
    postgres_s = cpus.group_and_postgres_s(-1, spec["database"])["postgres"] - postgres_before

    attempts = [a for part in gathered for a in part["attempts"]]
    window_start = start_at + spec["warmup_s"]
    counted = [a for a in attempts if window_start <= a[3] <= stop_at]
    counts = Counter({BOOKED: 0, FULL: 0, REFUSED: 0, ERROR: 0})
    counts.update(a[0] for a in counted)
    booked_ms = [(a[3] - a[2]) * 1000 for a in counted if a[0] == BOOKED]
    refused_ms = [(a[3] - a[2]) * 1000 for a in counted if a[0] in (FULL, REFUSED)]
    choose_ms = [(a[2] - a[1]) * 1000 for a in counted]
    all_booked = sum(1 for a in attempts if a[0] == BOOKED)
    alone = _uncontended(seeded)
    measured = _booking_checks(seeded["office_id"])
    return {
        "clients": clients,
        "processes": processes,
        "seconds": spec["duration_s"],
        "counts": dict(counts),
        "booked_p50_ms": round(percentile(booked_ms, 50), 1),
        "booked_p99_ms": round(percentile(booked_ms, 99), 1),
        "refused_p50_ms": round(percentile(refused_ms, 50), 1),
        "choose_p50_ms": round(percentile(choose_ms, 50), 1),
        "client_bookings": all_booked + alone["booked"],
        "ran_out": any(part["ran_out"] for part in gathered),
        "error_samples": [e for part in gathered for e in part["errors"]][:3],
        "problems": [p for part in gathered for p in part["problems"]],
        "client_cpu_ms_per_booking": round(children_s * 1000 / max(all_booked, 1), 2),
        "postgres_cpu_ms_per_booking": round(postgres_s * 1000 / max(all_booked, 1), 2),
        "client_cpu_ms_per_attempt": round(children_s * 1000 / max(len(attempts), 1), 2),
        "postgres_cpu_ms_per_attempt": round(postgres_s * 1000 / max(len(attempts), 1), 2),
        "queries_per_booking": alone["queries"],
        "uncontended_p50_ms": alone["p50_ms"],
        **measured,
    }


def _book_process(ids, office_id, threads, start_at, stop_at, results) -> None:
    """One client process: `threads` threads booking the applications `ids` in turn."""
    try:
        results.put(_book_clients(ids, office_id, threads, start_at, stop_at))
    except BaseException as e:  # the parent waits for every process's answer
        results.put({"attempts": [], "ran_out": False, "errors": [], "problems": [repr(e)]})


def _book_clients(ids, office_id, threads, start_at, stop_at) -> dict:
    from django.db import connection, connections
    from django.utils import timezone

    from applications.models import Application
    from imigrasi.errors import ServiceError
    from queueing.bookings import booking_interview
    from queueing.models import Purpose, Slot

    connections.close_all()
    waiting = list(
        Application.objects.filter(pk__in=ids).select_related("applicant").order_by("pk")
    )
    connection.close()
    lock = threading.Lock()
    attempts: list[tuple[str, float, float, float]] = []
    errors: list[str] = []
    ran_out = threading.Event()

    def next_application():
        with lock:
            if not waiting:
                ran_out.set()
                return None
            return waiting.pop(0)

    def client() -> None:
        mine: list[tuple[str, float, float, float]] = []
        try:
            connection.ensure_connection()
            while time.time() < start_at:
                time.sleep(0.005)
            application = None
            while time.time() < stop_at:
                if application is None:
                    application = next_application()
                    if application is None:
                        return
                chose_at = time.time()
                # As the booking page lists them: the earliest slot with a place left.
                slot_id = (
                    Slot.objects.bookable(timezone.now())
                    .filter(office_id=office_id, purpose=Purpose.INTERVIEW)
                    .order_by("starts_at")
                    .values_list("pk", flat=True)
                    .first()
                )
                started_at = time.time()
                try:
                    booking_interview(
                        citizen=application.applicant, application=application, slot_id=slot_id
                    )
                except ServiceError as error:
                    outcome = FULL if error.field == "slot" else REFUSED
                    if outcome == REFUSED:  # not about the place: counted, not tried again
                        application = None
                        if len(errors) < 5:
                            errors.append(f"refused: {error.message}")
                except Exception as error:  # counted; the group fails on any
                    outcome = ERROR
                    if len(errors) < 5:
                        errors.append(repr(error)[:300])
                    application = None  # not tried again
                else:
                    outcome = BOOKED
                    application = None
                mine.append((outcome, chose_at, started_at, time.time()))
        finally:
            with lock:
                attempts.extend(mine)
            connection.close()

    pool = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(stop_at - time.time() + 60)
    return {"attempts": attempts, "ran_out": ran_out.is_set(), "errors": errors, "problems": []}


def _booking_checks(office_id: int) -> dict:
    """Slots with more places taken than they have, counted two ways; the bookings' rows."""
    from django.db.models import Count, F, Q

    from applications.models import Application
    from queueing.models import Booking, Purpose, Slot

    active = Q(bookings__status=Booking.Status.ACTIVE)
    slots = Slot.objects.filter(office_id=office_id, purpose=Purpose.INTERVIEW).annotate(
        active=Count("bookings", filter=active)
    )
    over_counter = Q(booked__gt=F("capacity"))
    over_active = Q(active__gt=F("capacity"))
    bookings = Booking.objects.filter(office_id=office_id, status=Booking.Status.ACTIVE)
    per_application = (
        bookings.values("application_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    scheduled = Application.objects.filter(office_id=office_id, status="scheduled")
    return {
        "checks": {
            "overbooked": slots.filter(over_counter | over_active).count(),
            "booked_over_capacity": slots.filter(over_counter).count(),
            "active_over_capacity": slots.filter(over_active).count(),
            "count_mismatched": slots.exclude(active=F("booked")).count(),
            "applications_double_booked": per_application,
            "scheduled_without_booking": scheduled.exclude(
                bookings__status=Booking.Status.ACTIVE
            ).count(),
            "booked_without_scheduled": bookings.exclude(application__status="scheduled").count(),
            "slots_checked": slots.count(),
        },
        "slots_filled": slots.filter(booked__gte=F("capacity")).count(),
        "bookings_total": bookings.count(),
    }


def _uncontended(seeded: dict) -> dict:
    """With nobody racing: the statements of one booking, then the median time of a few more
    (applications left unbooked, slots at the end of the window)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from applications.models import Application
    from queueing.bookings import booking_interview
    from queueing.models import Purpose, Slot

    applications = list(
        Application.objects.filter(pk__in=seeded["applications"], status="paid")
        .select_related("applicant")
        .order_by("-pk")[: UNCONTENDED_BOOKINGS + 1]
    )
    slots = list(
        Slot.objects.bookable()
        .filter(office_id=seeded["office_id"], purpose=Purpose.INTERVIEW)
        .order_by("-starts_at")
        .values_list("pk", flat=True)[: len(applications)]
    )
    if not applications or len(slots) < len(applications):
        return {"queries": None, "p50_ms": None, "booked": 0}
    times_ms = []
    with CaptureQueriesContext(connection) as queries:
        booking_interview(
            citizen=applications[0].applicant, application=applications[0], slot_id=slots[0]
        )
    for application, slot_id in zip(applications[1:], slots[1:], strict=True):
        started = time.perf_counter()
        booking_interview(citizen=application.applicant, application=application, slot_id=slot_id)
        times_ms.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(queries.captured_queries),
        "p50_ms": round(percentile(times_ms, 50), 1) if times_ms else None,
        "booked": len(applications),
    }


def _call(path: str) -> dict:
    """Counters open and call tickets, so the board shows some being served and some done."""
    from accounts.models import User
    from offices.models import Counter
    from queueing import counters

    seeded = json.loads(Path(path).read_text(encoding="utf-8"))
    officer = User.objects.get(pk=seeded["officer_id"])
    called = finished = 0
    for counter in Counter.objects.filter(pk__in=seeded["counter_ids"]).select_related("office"):
        counters.shift_open(counter=counter, officer=officer, prefixes=["W", "K"])
        ticket = counters.call_next(counter=counter, officer=officer)
        called += 1
        if counter.number <= 2:
            counters.start(counter=counter, officer=officer, ticket_id=ticket.pk)
            counters.finish(counter=counter, officer=officer, ticket_id=ticket.pk)
            finished += 1
            counters.call_next(counter=counter, officer=officer)
            called += 1
    return {"called": called, "finished": finished}


def _verify(path: str) -> dict:
    """Per office, day and prefix: numbers used twice, and numbers skipped (the largest minus
    the distinct ones); the counter rows against the tickets; the quota drawn against W."""
    from django.db.models import Count, Max

    from queueing.models import DayUsage, Ticket, TicketSequence

    seeded = json.loads(Path(path).read_text(encoding="utf-8"))
    office_id = seeded["office_id"]
    rows = (
        Ticket.objects.filter(office_id=office_id)
        .order_by()
        .values("day", "prefix")
        .annotate(n=Count("pk"), distinct=Count("number", distinct=True), top=Max("number"))
    )
    last = {
        (s.day, s.prefix): s.last_number for s in TicketSequence.objects.filter(office_id=office_id)
    }
    duplicates = gaps = ahead = 0
    worst_duplicates: dict = {}
    worst_gaps: dict = {}
    by_prefix: Counter = Counter()
    for row in rows:
        key = f"{row['day']} {row['prefix']}"
        twice = row["n"] - row["distinct"]
        skipped = row["top"] - row["distinct"]
        duplicates += twice
        gaps += skipped
        ahead += last.get((row["day"], row["prefix"]), 0) - row["top"]
        by_prefix[row["prefix"]] += row["n"]
        if twice:
            worst_duplicates[key] = twice
        if skipped:
            worst_gaps[key] = skipped
    walk_ins = Ticket.objects.filter(office_id=office_id, prefix="W", priority="").order_by()
    w_by_day = Counter(dict(walk_ins.values("day").annotate(n=Count("pk")).values_list("day", "n")))
    used = {u.day: u.same_day for u in DayUsage.objects.filter(office_id=office_id)}
    mismatch = sum(abs(used.get(day, 0) - n) for day, n in w_by_day.items())
    return {
        "tickets": sum(by_prefix.values()),
        "by_prefix": dict(by_prefix),
        "groups": len(rows),
        "duplicates": duplicates,
        "gaps": gaps,
        "worst_duplicates": dict(sorted(worst_duplicates.items())[:5]),
        "worst_gaps": dict(sorted(worst_gaps.items())[:5]),
        "sequence_ahead": ahead,
        "same_day_used": sum(used.values()),
        "same_day_mismatch": mismatch,
    }


if __name__ == "__main__":
    sys.exit(
        seeding.main(
            sys.argv[1:],
            {"seed": _seed, "book": _book, "call": _call, "verify": _verify},
            "python -m bench.groups.queueing seed|book|call|verify PATH",
            args=1,
        )
    )
