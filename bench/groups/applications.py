"""`applications`: citizen and officer pages over 100,000 applications on PostgreSQL.

The group has a database of its own (`imigrasi_bench_applications` on the
server of DATABASE_URL when that is PostgreSQL, else on
postgres@127.0.0.1:5432; BENCH_APPLICATIONS_DATABASE_URL names another).
It is seeded once with COPY, about 40 s: 100,000 applications of 3,000
citizens at six offices, statuses spread over the workflow, their status
events (about five each), documents (one per requirement of the service)
and receipts. A complete seed is marked with a comment on the database
(seed version, size, migration files); later runs find the mark and reuse
the data, a missing or different mark (an interrupted seed, a new
migration) drops and seeds the database again, as does
BENCH_APPLICATIONS_RESEED=1.

In a Django process of its own (this module run as
`python -m bench.groups.applications measure`, production settings, the
server not yet started):

- `receipt_pdf.median_ms`: `receipts.receipt_pdf()` of a submitted
  application, rendered once to warm the process (fonts), then 20 times;
- `admin_list.queries_10`, `admin_list.queries_500`: the queries of one
  GET of the officers' list /admin/applications/application/ for an
  officer of an office with 10 applications and one of an office with 500
  (a page of 50), counted with CaptureQueriesContext after a first GET.

Then gunicorn serves the seeded database and wrk, as in `home`, measures
in alternating rounds:

- `status_page`: /permohonan/<reference>/ for the logged-in owner, rotating
  through 64 applications of 64 citizens, each with its own session (made
  with the session store, no login request);
- `public_check`: POST /cek-status/ with a reference and the applicant's
  date of birth, rotating through 64 applications, with the CSRF cookie
  and form token of one GET of the form; the per-IP limit is raised
  (STATUS_CHECK_LIMIT) for the bench's single address;
- `/bench/hello`, the floor the ratios divide by.

Targets: status_page.ratio >= 0.2 and status_page.p99_ms <= 100 at 32
connections; receipt_pdf.median_ms <= 150; admin_list.queries_10 ==
admin_list.queries_500 (the list's queries do not grow with its rows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import unquote, urlencode

from bench import database as databases
from bench import load, seeding
from bench.core import (
    BASE_DIR,
    BUSY_WARNING_PCT,
    BenchError,
    Context,
    Database,
    env_flag,
    group,
    log,
    run_driver,
    verdict,
)
from bench.server import HOST, Gunicorn

DATABASE_NAME = "imigrasi_bench_applications"
SEED_VERSION = 1
APPLICATIONS = 100_000
CITIZENS = 3_000
RANDOM_SEED = 2026
# Two small offices whose officers' lists are counted: one with 10, one with 500 applications.
ADMIN_OFFICES = {"BSA": 10, "BSB": 500}
SAMPLES = 64  # status pages (each its own citizen and session) and public checks
RECEIPT_RENDERS = 20

STATUS_RATIO_TARGET = 0.2
STATUS_P99_TARGET_MS = 100.0
RECEIPT_TARGET_MS = 150.0

HELLO = "/bench/hello"
STATUS_CHECK = "/cek-status/"


@group("applications")
def applications(ctx: Context) -> None:
    env, database = _environment(ctx)
    _prepare(ctx, env, database)
    log("applications: receipt PDF and admin list, in-process")
    measured = _driver(env, "measure", timeout_s=300)

    # This group's database replaces the run's in its lines.
    with ctx.own_figures(database=database.vendor, database_url=database.url):
        _report_in_process(ctx, measured)
        _serve_and_load(ctx, env, measured)


# --- The database ------------------------------------------------------------------------------


def _environment(ctx: Context) -> tuple[dict[str, str], Database]:
    env = databases.group_environment(ctx.env, DATABASE_NAME, "BENCH_APPLICATIONS_DATABASE_URL")
    # One client address makes every status check: the per-IP limit must not answer 429.
    env["STATUS_CHECK_LIMIT"] = "100000000"
    # As in production: Redis for the cache and sessions (a database of its own).
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    return env, databases.require_postgresql(env, "applications")


def _signature() -> str:
    """What the seeded data depends on: this seed and the schema (the migration files)."""
    names = sorted(
        str(path.relative_to(BASE_DIR))
        for app in ("accounts", "offices", "notifications", "applications")
        for path in (BASE_DIR / app / "migrations").glob("[0-9]*.py")
    )
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return f"imigrasi bench applications: seed v{SEED_VERSION}, {APPLICATIONS} rows, {digest}"


def _prepare(ctx: Context, env: dict[str, str], database: Database) -> None:
    log(f"applications: database {database.url}")
    databases.ensure_exists(env, database)
    expected = _signature()
    reseed = env_flag(env, "BENCH_APPLICATIONS_RESEED")
    if not reseed and databases.mark(env["DATABASE_URL"]) == expected:
        log("applications: reusing the seeded database (BENCH_APPLICATIONS_RESEED=1 seeds anew)")
        ctx.manage("migrate", "--no-input", "-v", "0", env=env)
    else:
        started = time.monotonic()
        databases.rebuild(ctx, env, database)
        log(f"applications: seeding {APPLICATIONS:,} applications")
        seeded = _driver(env, "seed", timeout_s=600)
        databases.set_mark(env["DATABASE_URL"], expected)
        log(
            f"applications: seeded {seeded['applications']:,} applications, "
            f"{seeded['events']:,} status events, {seeded['documents']:,} documents, "
            f"{seeded['citizens']:,} citizens in {time.monotonic() - started:.0f} s"
        )
    ctx.manage("collectstatic", "--no-input", "-v", "0", env=env)


def _driver(env: dict[str, str], command: str, *, timeout_s: float) -> dict:
    """This module's Django side, in a process of its own with the group's settings."""
    label = f"applications {command}"
    module = "bench.groups.applications"
    return run_driver(module, command, env=env, label=label, timeout_s=timeout_s)


# --- In-process figures ------------------------------------------------------------------------


def _report_in_process(ctx: Context, measured: dict) -> None:
    receipt = measured["receipt"]
    ctx.report_renders(
        "receipt_pdf.median_ms",
        receipt,
        RECEIPT_TARGET_MS,
        "first render",
        reference=receipt["reference"],
    )

    admin = measured["admin"]
    small, large = admin[str(min(ADMIN_OFFICES.values()))], admin[str(max(ADMIN_OFFICES.values()))]
    equal = small["queries"] == large["queries"]
    for rows, figure in sorted((int(k), v) for k, v in admin.items()):
        ctx.emit(
            f"admin_list.queries_{rows}",
            figure["queries"],
            "queries",
            path=figure["path"],
            visible=figure["result_count"],
            rows_on_page=figure["rows_on_page"],
            officer_office=figure["office"],
            target="queries_10 == queries_500",
            target_met=equal,
        )
    log(
        f"admin_list.queries_10 {small['queries']}, admin_list.queries_500 {large['queries']}: "
        f"target equal {verdict(equal)}"
    )
    if not equal:
        extra = _normalised(large["sql"])
        for statement in _normalised(small["sql"]):
            if statement in extra:
                extra.remove(statement)
        for statement in extra[:10]:
            log(f"  only with 500: {statement[:300]}")


def _normalised(statements: list[str]) -> list[str]:
    return [re.sub(r"\b\d+\b", "N", s) for s in statements]


# --- Under load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # shown in the figures; the requests rotate over several
    requests: tuple[tuple[str, str, dict[str, str], str | None], ...] = ()  # () = plain GET


def _serve_and_load(ctx: Context, env: dict[str, str], measured: dict) -> None:
    options = ctx.options
    tool = ctx.tool()
    rounds = max(1, min(options.rounds, options.duration_s))
    slices = [
        options.duration_s // rounds + (1 if i < options.duration_s % rounds else 0)
        for i in range(rounds)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="bench-applications-") as tmp,
        ctx.server(env=env) as server,
    ):
        pages = _pages(server, measured)
        sizes = {page.name: _check(server, page) for page in pages}
        scripts = {page.name: _wrk_script(page, Path(tmp)) for page in pages if page.requests}
        for page in pages:  # warm-up: templates, persistent connections, caches
            _load(ctx, server, page, scripts, options.warmup_s)
        log(
            f"measuring {', '.join(p.path for p in pages)} for {options.duration_s} s each "
            f"in {len(slices)} rounds, {options.connections} connections, {tool}"
        )
        runs: dict[str, list[load.LoadResult]] = {page.name: [] for page in pages}
        for i, seconds in enumerate(slices):
            for page in pages if i % 2 == 0 else list(reversed(pages)):
                runs[page.name].append(_load(ctx, server, page, scripts, seconds))
        workers = server.workers
    results = {name: load.combine(parts) for name, parts in runs.items()}

    context = {
        "tool": tool,
        "connections": options.connections,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "rounds": rounds,
        "workers": workers,
    }
    hello = results["hello"]
    verdicts = []
    for page in pages:
        if page.name == "hello":
            continue
        result = results[page.name]
        extra = {
            **context,
            "path": page.path,
            "urls": len(page.requests),
            "requests": result.requests,
            "response_bytes": sizes[page.name],
        }
        ratio = result.rps / hello.rps if hello.rps else 0.0
        p99 = result.percentile_ms(99)
        round_ratios = [
            round(mine.rps / floor.rps, 3) if floor.rps else 0.0
            for floor, mine in zip(runs["hello"], runs[page.name], strict=True)
        ]
        if page.name == "status_page":
            p99_met, ratio_met = p99 <= STATUS_P99_TARGET_MS, ratio >= STATUS_RATIO_TARGET
            p99_target = {"target": STATUS_P99_TARGET_MS, "target_met": p99_met}
            ratio_target = {"target": STATUS_RATIO_TARGET, "target_met": ratio_met}
            verdicts.append(
                f"status_page.ratio {ratio:.3f} (target >= {STATUS_RATIO_TARGET} "
                f"{verdict(ratio_met)}), status_page.p99_ms {p99:.1f} "
                f"(target <= {STATUS_P99_TARGET_MS:.0f} {verdict(p99_met)})"
            )
        else:
            p99_target = ratio_target = {}
            verdicts.append(f"{page.name}.ratio {ratio:.3f}, {page.name}.p99_ms {p99:.1f}")
        ctx.emit(f"{page.name}.rps", result.rps, "req/s", **extra)
        ctx.emit(f"{page.name}.p50_ms", result.percentile_ms(50), "ms", **extra)
        ctx.emit(f"{page.name}.p99_ms", p99, "ms", **extra, **p99_target)
        ctx.emit(
            f"{page.name}.errors",
            result.errors,
            "count",
            non_2xx=result.non_2xx,
            socket_errors=result.socket_errors,
            **extra,
        )
        ctx.emit(
            f"{page.name}.ratio",
            ratio,
            "ratio",
            hello_rps=round(hello.rps, 1),
            hello_path=HELLO,
            round_ratios=round_ratios,
            **context,
            **ratio_target,
        )
    other = ctx.common.get("cpu_other_pct") or 0
    note = ""
    if other > BUSY_WARNING_PCT:
        note = (
            f"; other processes took {other:.0f} % of the CPU (with PostgreSQL its "
            "backends count as other): compare with cpu_busy_before_pct"
        )
    log(
        f"{'; '.join(verdicts)} (hello {hello.rps:.0f} req/s, "
        f"{options.connections} connections, {tool}){note}"
    )
    if tool == "python":
        log(
            "the Python client limits the bare view's rate on a small machine, which "
            "overstates the ratios: judge the targets with wrk"
        )
    for page in pages:
        result = results[page.name]
        if result.errors:
            raise BenchError(
                f"{page.path} answered {result.non_2xx} non-2xx and "
                f"{result.socket_errors} socket errors out of {result.requests} requests "
                f"(server log: {ctx.output.parent / 'gunicorn.log'})"
            )


def _pages(server: Gunicorn, measured: dict) -> list[Page]:
    session_cookie = measured["session_cookie_name"]
    cookie, token = _csrf(server, measured["csrf_cookie_name"])
    # A browser that has opened any page of the portal holds the CSRF cookie too.
    status_requests = tuple(
        (
            "GET",
            item["path"],
            {
                "Cookie": f"{session_cookie}={item['session_key']}; "
                f"{measured['csrf_cookie_name']}={cookie}"
            },
            None,
        )
        for item in measured["status_pages"]
    )
    check_requests = tuple(
        (
            "POST",
            STATUS_CHECK,
            {
                "Cookie": f"{measured['csrf_cookie_name']}={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            urlencode(
                {
                    "csrfmiddlewaretoken": token,
                    "reference": item["reference"],
                    "date_of_birth": item["date_of_birth"],
                }
            ),
        )
        for item in measured["checks"]
    )
    return [
        Page("hello", HELLO),
        Page("status_page", "/permohonan/<reference>/", status_requests),
        Page("public_check", STATUS_CHECK, check_requests),
    ]


def _csrf(server: Gunicorn, cookie_name: str) -> tuple[str, str]:
    """The CSRF cookie and form token a browser gets with the status-check form."""
    answer = server.get(STATUS_CHECK)
    if answer.status != 200:
        raise BenchError(f"GET {STATUS_CHECK} answered {answer.status}\n{server.log_tail()}")
    jar: SimpleCookie = SimpleCookie()
    for name, value in answer.headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    field = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', answer.body)
    if cookie_name not in jar or field is None:
        raise BenchError(f"GET {STATUS_CHECK} set no {cookie_name} cookie or form token")
    return jar[cookie_name].value, field.group(1).decode("ascii")


def _check(server: Gunicorn, page: Page) -> int:
    """Every URL once before the load: a 200 with the page expected; the mean body size."""
    if not page.requests:
        answer = server.get(page.path)
        if answer.status != 200 or answer.body != b"hello":
            raise BenchError(
                f"GET {page.path} answered {answer.status} {answer.body[:80]!r} "
                "(BENCH_ENDPOINTS off?)"
            )
        return len(answer.body)
    sizes = []
    for method, path, headers, body in page.requests:
        answer = server.request(method, path, body=body, headers=headers)
        if answer.status != 200:
            hint = {302: " (not logged in: a redirect to the login page?)", 403: " (CSRF?)"}
            raise BenchError(
                f"{method} {path} answered {answer.status}{hint.get(answer.status, '')}\n"
                f"{server.log_tail()}"
            )
        if page.name == "status_page":
            reference = path.rstrip("/").rsplit("/", 1)[-1]
            expected = f"<strong>{reference}</strong>".encode()
        else:
            reference = re.search(r"reference=([^&]+)", body or "").group(1)
            expected = f">{unquote(reference)}</h2>".encode()
        if expected not in answer.body or b"</html>" not in answer.body:
            raise BenchError(f"{method} {path} did not show {reference}")
        sizes.append(len(answer.body))
    return round(statistics.mean(sizes))


def _load(
    ctx: Context, server: Gunicorn, page: Page, scripts: dict[str, Path], seconds: int
) -> load.LoadResult:
    options = ctx.options
    if not page.requests:
        return load.run(
            ctx.tool(),
            server.url(page.path),
            connections=options.connections,
            duration_s=seconds,
            wrk_threads=options.wrk_threads,
        )
    if ctx.tool() == "wrk":
        return load.run_wrk(
            server.url("/"),
            script=scripts[page.name],
            connections=options.connections,
            duration_s=seconds,
            threads=options.wrk_threads,
        )
    return _run_python(server, page, connections=options.connections, duration_s=seconds)


# --- wrk with requests of our own -------------------------------------------------------------

_LUA_REQUESTS = """\
-- `make bench BENCH=applications`: rotate over these requests, then bench/wrk_report.lua.
local bench_requests = {
%s
}
local bench_built = nil
local bench_next = 0

function request()
  if bench_built == nil then
    bench_built = {}
    for i, r in ipairs(bench_requests) do
      bench_built[i] = wrk.format(r[1], r[2], r[3], r[4])
    end
  end
  bench_next = bench_next %% #bench_built + 1
  return bench_built[bench_next]
end

"""


def _lua(text: str) -> str:
    if not re.fullmatch(r"[\x20-\x7e]*", text):
        raise BenchError(f"not printable ASCII, cannot go into the wrk script: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_script(page: Page, directory: Path) -> Path:
    rows = []
    for method, path, headers, body in page.requests:
        header_table = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items())
        rows.append(
            f"  {{{_lua(method)}, {_lua(path)}, {{{header_table}}}, "
            f"{_lua(body) if body is not None else 'nil'}}},"
        )
    return load.wrk_script(_LUA_REQUESTS % "\n".join(rows), directory / f"{page.name}.lua")


def _run_python(
    server: Gunicorn, page: Page, *, connections: int, duration_s: int
) -> load.LoadResult:
    """The Python client, each connection repeating one of the page's requests."""
    netloc = f"{HOST}:{server.port}"
    raw = []
    for method, path, headers, body in page.requests:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {netloc}", "User-Agent: imigrasi-bench"]
        lines += ["Accept: */*", *(f"{k}: {v}" for k, v in headers.items())]
        if body is not None:
            lines.append(f"Content-Length: {len(body.encode())}")
        raw.append(("\r\n".join(lines) + "\r\n\r\n" + (body or "")).encode("ascii"))

    return load.run_python_requests(
        HOST, server.port, raw, connections=connections, duration_s=duration_s
    )


# --- The Django side: `python -m bench.groups.applications seed|measure` -------------------------

NATIONALITIES = ["Malaysia", "Australia", "Belanda", "Jepang", "India", "Amerika Serikat"]

# Status → share of the applications (per mille).
STATUS_WEIGHTS = {
    "draft": 50,
    "submitted": 100,
    "revision_requested": 40,
    "awaiting_payment": 90,
    "paid": 50,
    "scheduled": 70,
    "interviewed": 50,
    "approved": 60,
    "ready": 60,
    "completed": 350,
    "rejected": 30,
    "cancelled": 30,
    "expired": 20,
}
FORWARD = ["submitted", "awaiting_payment", "paid", "scheduled", "interviewed", "approved"]
FORWARD += ["ready", "completed"]
ACTOR = {
    "submitted": "citizen",
    "awaiting_payment": "system",
    "paid": "system",
    "scheduled": "citizen",
    "interviewed": "officer",
    "approved": "officer",
    "ready": "officer",
    "completed": "officer",
    "revision_requested": "officer",
    "rejected": "officer",
    "cancelled": "citizen",
    "expired": "system",
}
FINAL = {"completed", "rejected", "cancelled"}
RESUMABLE = {"submitted", "awaiting_payment", "paid", "scheduled", "interviewed"}
NOTES = {
    "revision_requested": "Mohon unggah ulang KTP: foto kurang jelas.",
    "rejected": "Data pada dokumen pendukung tidak sesuai dengan KTP.",
}


def _path_to(status: str, *, interview: bool, rng: random.Random) -> tuple[list[str], str]:
    """The statuses an application went through to reach `status`, and its resume status."""
    forward = [s for s in FORWARD if interview or s not in {"scheduled", "interviewed"}]
    if status == "draft":
        return [], ""
    if status in forward:
        return forward[: forward.index(status) + 1], ""
    if status in {"scheduled", "interviewed"}:  # a service without an interview
        return forward[: forward.index("approved") + 1], ""
    if status == "revision_requested":
        at = rng.choice([s for s in forward if s in RESUMABLE])
        return [*forward[: forward.index(at) + 1], "revision_requested"], at
    if status == "rejected":
        at = "interviewed" if interview else "paid"
        return [*forward[: forward.index(at) + 1], "rejected"], ""
    if status == "cancelled":
        return [*forward[: rng.choice([1, 2])], "cancelled"], ""
    return ["submitted", "awaiting_payment", "expired"], ""  # expired


def _copy(cursor, model, rows, *, with_id: bool = False) -> int:
    """COPY rows (dicts by attribute name) into the model's table; the rest get field defaults."""
    from psycopg import sql

    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    defaults = {f.attname: None if f.primary_key else f.get_default() for f in fields}
    names = [f.attname for f in fields]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
    )
    count = 0
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(name, defaults[name]) for name in names])
            count += 1
    return count


def _seed() -> dict:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone
    from psycopg import sql

    from accounts.models import User
    from applications.models import Application, Document, Receipt, Service, StatusEvent
    from applications.services import REFERENCE_ALPHABET, REFERENCE_RANDOM_LENGTH
    from offices import roles
    from offices.models import Office, StaffMembership

    if Application.objects.exists():
        raise SystemExit("the bench database already holds applications")
    rng = random.Random(RANDOM_SEED)
    now = timezone.now()
    today = timezone.localdate()

    with transaction.atomic():
        demo_offices = list(Office.objects.order_by("code"))
        admin_offices = {}
        officer_group = Group.objects.get(name=roles.OFFICER)
        for code, count in ADMIN_OFFICES.items():
            office, _ = Office.objects.update_or_create(
                code=code,
                defaults={
                    "name": f"Kantor Imigrasi Uji {code} ({count} permohonan)",
                    "address": "Jl. Uji Beban No. 1",
                    "region": "Bench",
                },
            )
            admin_offices[code] = office
            officer = User.objects.create(
                email=f"bench.officer.{code.lower()}@example.invalid",
                full_name=f"Petugas Uji {code}",
                is_staff=True,
                password=make_password(None),
                email_verified_at=now,
            )
            officer.groups.set([officer_group])
            StaffMembership.objects.create(user=officer, office=office)

        citizens = seeding.citizens(
            rng, CITIZENS, email="bench.citizen.{}@example.invalid", now=now
        )
        persons = seeding.persons(rng, citizens)

        services = list(Service.objects.active().prefetch_related("requirements"))
        service_weights = [5 if s.category == "passport" else 1 for s in services]
        requirements = {s.pk: [r.pk for r in s.requirements.all()] for s in services}
        fees = {s.pk: s.fee_on(today) for s in services}
        statuses, status_weights = zip(*STATUS_WEIGHTS.items(), strict=True)
        references: set[str] = set()
        drafts: set[tuple[int, int]] = set()
        applications, events, documents, receipts = [], [], [], []
        next_id = 1 + (
            Application.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        office_plan = [code for code, count in ADMIN_OFFICES.items() for _ in range(count)]

        for n in range(APPLICATIONS):
            pk = next_id + n
            service = rng.choices(services, service_weights)[0]
            person = rng.choice(persons)
            if n < len(office_plan):  # the officers' offices: no drafts (the admin hides them)
                office = admin_offices[office_plan[n]]
                status = rng.choices(statuses[1:], status_weights[1:])[0]
            else:
                office = rng.choice(demo_offices)
                status = rng.choices(statuses, status_weights)[0]
            if status == "draft":
                if (person.pk, service.pk) in drafts:
                    status = "submitted"
                else:
                    drafts.add((person.pk, service.pk))
            path, resume = _path_to(status, interview=service.needs_interview, rng=rng)
            status = path[-1] if path else "draft"
            final = status in {"completed", "rejected", "cancelled", "expired"}
            age = dt.timedelta(days=rng.uniform(30, 730) if final else rng.uniform(0.5, 120))
            created = now - age
            end = created + age * (rng.uniform(0.3, 0.95) if final else rng.uniform(0.8, 0.999))
            moments = sorted(created + (end - created) * rng.random() for _ in range(len(path)))
            at = dict(zip(path, moments, strict=True))
            previous = "draft"
            for to, moment in zip(path, moments, strict=True):
                actor = ACTOR[to]
                events.append(
                    {
                        "application_id": pk,
                        "from_status": previous,
                        "to_status": to,
                        "by_id": person.owner_id if actor == "citizen" else None,
                        "actor": actor,
                        "note": NOTES.get(to, ""),
                        "at": moment,
                    }
                )
                previous = to
            submitted = at.get("submitted")
            prefix = f"{service.reference_prefix}-{office.code}-{created:%y}-"
            reference = seeding.unique(
                lambda prefix=prefix: (
                    prefix + "".join(rng.choices(REFERENCE_ALPHABET, k=REFERENCE_RANDOM_LENGTH))
                ),
                references,
            )
            applications.append(
                {
                    "id": pk,
                    "reference": reference,
                    "service_id": service.pk,
                    "office_id": office.pk,
                    "applicant_id": person.owner_id,
                    "person_id": person.pk,
                    "status": status,
                    "status_changed_at": moments[-1] if moments else created,
                    "resume_status": resume,
                    "step_reached": rng.randint(1, 4) if status == "draft" else 4,
                    **seeding.applicant(person, service, rng, NATIONALITIES),
                    "fee_amount": fees[service.pk] if submitted else None,
                    "declaration_at": submitted - dt.timedelta(minutes=1) if submitted else None,
                    "submitted_at": submitted,
                    "due_date": (
                        timezone.localdate(submitted)
                        + dt.timedelta(days=service.processing_days * 7 // 5 + 1)
                        if submitted
                        else None
                    ),
                    "ready_at": at.get("ready"),
                    "completed_at": moments[-1] if status in FINAL else None,
                    "delivery_method": "pickup" if "approved" in at else "",
                    "created_at": created,
                    "updated_at": moments[-1] if moments else created,
                }
            )
            wanted = requirements[service.pk]
            if status == "draft":
                wanted = wanted[: rng.randint(0, len(wanted))]
            rejected_one = rng.choice(wanted) if status == "revision_requested" else None
            for requirement_id in wanted:
                state = "pending"
                if requirement_id == rejected_one:
                    state = "rejected"
                elif "awaiting_payment" in at:
                    state = "accepted"
                name = rng.getrandbits(128)
                documents.append(
                    {
                        "application_id": pk,
                        "requirement_id": requirement_id,
                        "file": f"documents/{name:032x}.pdf",
                        "original_name": f"scan-{requirement_id}.pdf",
                        "content_type": "application/pdf",
                        "size": rng.randrange(80_000, 1_900_000),
                        "sha256": f"{rng.getrandbits(256):064x}",
                        "state": state,
                        "rejection_reason": NOTES["revision_requested"]
                        if state == "rejected"
                        else "",
                        "reviewed_at": at.get("awaiting_payment") if state != "pending" else None,
                        "uploaded_at": created + (at.get("submitted", now) - created) / 2
                        if submitted
                        else created,
                    }
                )
            if submitted:
                receipts.append(
                    {
                        "application_id": pk,
                        "file": f"receipts/{submitted:%Y/%m}/{reference}.pdf",
                        "sha256": f"{rng.getrandbits(256):064x}",
                        "rendered_at": submitted + dt.timedelta(seconds=20),
                    }
                )

        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own, for COPY
            _copy(cursor, Application, applications, with_id=True)
            table = Application._meta.db_table
            cursor.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {}))"
                ).format(sql.Identifier(table)),
                [table],
            )
            _copy(cursor, StatusEvent, events)
            _copy(cursor, Document, documents)
            _copy(cursor, Receipt, receipts)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "applications": len(applications),
        "events": len(events),
        "documents": len(documents),
        "receipts": len(receipts),
        "citizens": len(citizens),
    }


def _measure() -> dict:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from applications.models import Application
    from applications.receipts import receipt_pdf

    rng = random.Random(RANDOM_SEED + 1)
    Session.objects.all().delete()  # the bench database's only sessions are this run's

    # Status pages: 64 applications of 64 different citizens, each logged in.
    rows = list(
        Application.objects.exclude(office__code__in=ADMIN_OFFICES)
        .order_by("pk")
        .values_list("pk", "reference", "applicant_id", "status", "date_of_birth")
    )
    rng.shuffle(rows)
    chosen, owners = [], set()
    for pk, reference, applicant_id, _status, _born in rows:
        if applicant_id not in owners:
            owners.add(applicant_id)
            chosen.append((pk, reference, applicant_id))
        if len(chosen) == SAMPLES:
            break
    users = User.objects.in_bulk([applicant_id for _, _, applicant_id in chosen])
    status_pages = []
    for _pk, reference, applicant_id in chosen:
        user = users[applicant_id]
        session = SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        status_pages.append(
            {"path": f"/permohonan/{reference}/", "session_key": session.session_key}
        )
    checks = [
        {"reference": reference, "date_of_birth": born.isoformat()}
        for _pk, reference, _owner, status, born in rows[SAMPLES : SAMPLES * 3]
        if status != "draft"
    ][:SAMPLES]

    # The receipt of a submitted application, as the Celery task renders it.
    application = (
        Application.objects.select_related("service", "office", "applicant")
        .filter(status="submitted", applicant__preferred_language="id")
        .exclude(office__code__in=ADMIN_OFFICES)
        .order_by("pk")
        .first()
    )
    renders = seeding.time_renders(lambda: receipt_pdf(application), RECEIPT_RENDERS)

    # The officers' list: an officer of the 10-application office, one of the 500 one.
    admin = {}
    path = "/admin/applications/application/"
    for code, count in ADMIN_OFFICES.items():
        officer = User.objects.get(email=f"bench.officer.{code.lower()}@example.invalid")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(officer)
        first = client.get(path)  # first use: content types, permissions, templates
        if first.status_code != 200:
            raise SystemExit(f"GET {path} as the {code} officer answered {first.status_code}")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        changelist = response.context_data["cl"]
        if response.status_code != 200 or changelist.result_count != count:
            raise SystemExit(
                f"GET {path} as the {code} officer: {response.status_code}, "
                f"{changelist.result_count} applications instead of {count}"
            )
        admin[str(count)] = {
            "path": path,
            "office": code,
            "queries": len(queries.captured_queries),
            "result_count": changelist.result_count,
            "rows_on_page": len(changelist.result_list),
            "sql": [q["sql"] for q in queries.captured_queries],
        }
    return {
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "status_pages": status_pages,
        "checks": checks,
        "receipt": {"reference": application.reference, **renders},
        "admin": admin,
    }


if __name__ == "__main__":
    sys.exit(
        seeding.main(
            sys.argv[1:],
            {"seed": _seed, "measure": _measure},
            "python -m bench.groups.applications seed|measure",
        )
    )
