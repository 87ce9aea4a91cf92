"""The pieces every bench group shares: the registry, the run context, the output.

A group is a function taking a `Context`, registered with `@group("name")`
in a module of `bench/groups/`; `load_groups()` imports them all. The
context knows the production-like environment, prepares the database once
per run, starts gunicorn, drives load and writes each figure as one JSON
line to stdout and to `var/bench/latest.jsonl`. Progress goes to stderr so
stdout stays machine-readable.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from bench import cpu

if TYPE_CHECKING:
    from bench.server import Gunicorn

BASE_DIR = Path(__file__).resolve().parent.parent

# What `make bench` measures is the production configuration, except what
# plain HTTP on 127.0.0.1 requires: no HTTPS redirect, no Secure cookies.
# DATABASE_URL and REDIS_URL are taken from the caller's environment.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "imigrasi.settings",
    "DEBUG": "false",
    "DEV_KEYS": "true",
    "CONN_MAX_AGE": "60",
    "STATIC_MANIFEST": "true",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "BENCH_ENDPOINTS": "true",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
}

# Above this share of the CPU taken by other processes, a run is flagged.
BUSY_WARNING_PCT = 5

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}


class BenchError(Exception):
    """The run cannot give an honest figure (server down, errors in the answers)."""


@dataclass(frozen=True)
class Options:
    connections: int = 32
    duration_s: int = 10  # per URL, in whole seconds: wrk takes no fractions
    warmup_s: int = 2
    rounds: int = 5  # the duration is split into rounds that alternate the URLs
    workers: int = 3  # gunicorn sync workers
    wrk_threads: int = 1
    tool: str = "auto"  # auto | wrk | python


GroupFunction = Callable[["Context"], None]
GROUPS: dict[str, GroupFunction] = {}


def group(name: str) -> Callable[[GroupFunction], GroupFunction]:
    """Register a bench group under `name` (`make bench BENCH=name`)."""

    def register(function: GroupFunction) -> GroupFunction:
        if name in GROUPS and GROUPS[name] is not function:
            raise ValueError(f"bench group {name!r} is registered twice")
        GROUPS[name] = function
        return function

    return register


def load_groups() -> dict[str, GroupFunction]:
    """Import every module of `bench.groups`, which registers its groups."""
    from bench import groups as package

    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return GROUPS


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    """An empty variable counts as unset, as in imigrasi/settings.py."""
    value = env.get(name, "").strip()
    return value or None


def var_dir(env: Mapping[str, str]) -> Path:
    return Path(_env_value(env, "VAR_DIR") or BASE_DIR / "var")


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no variable such as BENCH_PAYMENTS_RESEED=1."""
    return (_env_value(env, name) or "").lower() in {"1", "true", "yes"}


def without_password(url: str) -> str:
    """A URL fit to print: the password left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}@{parts.hostname or ''}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


def percentile(
    values: Iterable[float], percent: float, weights: Iterable[float] | None = None
) -> float:
    """The value below which `percent` % of the (weighted) values lie: the nearest rank."""
    points = sorted(zip(values, repeat(1.0) if weights is None else weights, strict=False))
    if not points:
        return 0.0
    rank = percent / 100 * sum(weight for _, weight in points)
    total = 0.0
    for value, weight in points:
        total += weight
        if total >= rank - 1e-9:
            return value
    return points[-1][0]


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def run_python(
    args: list[str], *, env: Mapping[str, str], label: str, timeout_s: float, shown: int = 0
) -> str:
    """`python ARGS` in the project's directory; its stdout. On failure its output (the last
    `shown` characters, else all of it) goes to stderr and BenchError is raised."""
    try:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"{label} took more than {timeout_s:.0f} s") from e
    if done.returncode != 0:
        output = done.stdout + done.stderr
        sys.stderr.write(output[-shown:] if shown else output)
        raise BenchError(f"{label} failed (exit {done.returncode})")
    return done.stdout


def run_driver(
    module: str, *args: str, env: Mapping[str, str], label: str, timeout_s: float
) -> dict:
    """A group's Django side (`python -m module args`) in a process of its own, with the
    group's settings; what it printed last, a JSON object."""
    stdout = run_python(
        ["-m", module, *args], env=env, label=label, timeout_s=timeout_s, shown=4000
    )
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        raise BenchError(f"{label} printed no result: {stdout[-500:]!r}") from e


@dataclass(frozen=True)
class Database:
    vendor: str  # "sqlite", "postgresql", ...
    url: str  # without the password

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Database:
        url = _env_value(env, "DATABASE_URL")
        if url is None:
            return cls("sqlite", f"sqlite:///{var_dir(env) / 'db.sqlite3'}")
        scheme = urlsplit(url).scheme.lower()
        vendor = "postgresql" if scheme in POSTGRES_SCHEMES else scheme.split("+")[0]
        return cls(vendor, without_password(url))


def _git_describe() -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


@dataclass
class Context:
    """One `python -m bench.run` invocation, shared by the groups it runs."""

    options: Options
    env: dict[str, str]
    database: Database
    run_id: str
    output: Path
    common: dict[str, Any] = field(default_factory=dict)
    _prepared: bool = False
    _tool: str | None = None

    @classmethod
    def create(cls, options: Options, environ: Mapping[str, str] = os.environ) -> Context:
        env = {**environ, **PRODUCTION_ENV}
        database = Database.from_env(env)
        run_id = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        common = {
            "run_id": run_id,
            "database": database.vendor,
            "database_url": database.url,
            "cache": "redis" if _env_value(env, "REDIS_URL") else "locmem",
            "commit": _git_describe(),
            "cpus": os.cpu_count(),
        }
        return cls(options, env, database, run_id, var_dir(env) / "bench" / "latest.jsonl", common)

    # --- output -----------------------------------------------------------
    def emit(self, name: str, value: float | int, unit: str, **extra: Any) -> None:
        """Print one figure as a JSON line and append it to var/bench/latest.jsonl."""
        if isinstance(value, float):
            value = round(value, 4)
        line = json.dumps(
            {"bench": name, "value": value, "unit": unit, **extra, **self.common},
            ensure_ascii=False,
        )
        print(line, flush=True)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        with self.output.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    @contextmanager
    def own_figures(self, **common: Any) -> Iterator[None]:
        """A group's own database, cache or broker in its lines instead of the run's (and no
        CPU figures of an earlier group's server); the run's back afterwards."""
        saved = dict(self.common)
        for key in ("cpu_busy_before_pct", "cpu_other_pct"):
            self.common.pop(key, None)
        self.common.update(common)
        try:
            yield
        finally:
            self.common.clear()
            self.common.update(saved)

    def report_renders(
        self, name: str, renders: dict, target_ms: float, first: str, **about: Any
    ) -> None:
        """`name`, the median of `bench.seeding.time_renders` (a PDF), and its verdict."""
        times_ms = renders["times_ms"]
        median = statistics.median(times_ms)
        met = median <= target_ms
        self.emit(
            name,
            median,
            "ms",
            renders=len(times_ms),
            first_render_ms=round(renders["first_ms"], 1),
            min_ms=round(min(times_ms), 1),
            max_ms=round(max(times_ms), 1),
            **about,
            pdf_bytes=renders["bytes"],
            target=target_ms,
            target_met=met,
        )
        log(
            f"{name} {median:.1f} ({first} {renders['first_ms']:.0f} ms): "
            f"target <= {target_ms:.0f} {verdict(met)}"
        )

    # --- the project --------------------------------------------------------
    def manage(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
        """Run a manage.py command with the bench environment (or `env`); raise on failure."""
        return run_python(
            ["manage.py", *args],
            env=self.env if env is None else env,
            label=f"manage.py {' '.join(args)}",
            timeout_s=timeout,
        )

    def prepare(self) -> None:
        """Database migrated and seeded, static files collected: once per run."""
        if self._prepared:
            return
        from bench import database

        log(f"database: {self.database.url}")
        database.ensure_exists(self.env, self.database)
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("seed_demo", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")
        self._prepared = True

    @contextmanager
    def server(
        self, workers: int | None = None, *, env: dict[str, str] | None = None
    ) -> Iterator[Gunicorn]:
        """gunicorn serving the project on a free port of 127.0.0.1, stopped on exit.

        With `env` (a group's own database, say) the caller has prepared that
        database and collected the static files; otherwise `prepare()` runs.
        """
        from bench.server import Gunicorn

        if env is None:
            self.prepare()
        self.common.pop("cpu_other_pct", None)  # from an earlier server of this run
        busy = cpu.busy_percent()
        if busy is not None:
            self.common["cpu_busy_before_pct"] = round(busy, 1)
            if busy > BUSY_WARNING_PCT:
                log(f"the machine is busy: {busy:.0f} % of the CPU in use before the bench")
        gunicorn = Gunicorn(
            env=self.env if env is None else env,
            workers=workers or self.options.workers,
            log_path=self.output.parent / "gunicorn.log",
        )
        usage = cpu.OtherUsage.start()
        with gunicorn:
            yield gunicorn
        # gunicorn is stopped and reaped here, so its CPU time counts as the bench's own.
        other = usage.percent() if usage else None
        if other is not None:
            self.common["cpu_other_pct"] = round(other, 1)
            if other > BUSY_WARNING_PCT:
                log(
                    f"other processes took {other:.0f} % of the CPU during the bench: "
                    "figures are low and scattered, run again on a quiet machine"
                )

    def tool(self) -> str:
        """The load generator for this run: wrk when available, else the Python client."""
        if self._tool is None:
            from bench import load

            self._tool = load.choose_tool(self.options.tool)
        return self._tool
