"""`make test`: pick the databases, then run pytest.

Under CI=true the suite must run on the real PostgreSQL and Redis of the
machine: they are started when down, and the run fails loudly when they
cannot be reached. Elsewhere an unreachable service is reported in one
line and the suite runs on SQLite / local memory, skipping only the tests
marked `postgres` or `redis`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("TEST_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/imigrasi"
REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"

START_POSTGRES = (
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | sort -V | tail -n1) main start"
)
START_REDIS = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


def _postgres_ready(url: str) -> bool:
    if not _reachable(url):
        return False
    import psycopg

    parsed = urlparse(url)
    try:
        psycopg.connect(
            host=parsed.hostname,
            port=parsed.port,
            user=parsed.username or "postgres",
            password=parsed.password,
            dbname="postgres",
            connect_timeout=2,
        ).close()
    except psycopg.Error:
        return False
    return True


def _redis_ready(url: str) -> bool:
    if not _reachable(url):
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _ensure(name: str, ready, url: str, start: str) -> bool:
    if ready(url):
        return True
    if not CI:
        return False
    print(f"{name} is not answering at {url}; starting it: {start}", flush=True)
    if shutil.which(start.split()[0]):
        subprocess.run(start, shell=True, check=False)  # noqa: S602 (fixed command)
    for _ in range(30):
        if ready(url):
            return True
        time.sleep(1)
    sys.exit(f"CI needs {name} at {url} and it cannot be reached: failing the run.")


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    has_pg = _ensure("PostgreSQL", _postgres_ready, PG_URL, START_POSTGRES)
    has_redis = _ensure("Redis", _redis_ready, REDIS_URL, START_REDIS)
    if has_pg:
        env["DATABASE_URL"] = PG_URL
    else:
        env["DATABASE_URL"] = f"sqlite:///{Path('var/test.sqlite3').resolve()}"
        print(
            "PostgreSQL not reachable at 127.0.0.1:5432: running on SQLite, "
            "skipping tests marked postgres."
        )
    if has_redis:
        env["REDIS_URL"] = REDIS_URL
    else:
        env.pop("REDIS_URL", None)
        print(
            "Redis not reachable at 127.0.0.1:6379: cache in memory, tasks inline, "
            "skipping tests marked redis."
        )
    env["IMIGRASI_TEST_POSTGRES"] = "1" if has_pg else "0"
    env["IMIGRASI_TEST_REDIS"] = "1" if has_redis else "0"
    env.pop("DEBUG", None)
    workers = env.get("TEST_WORKERS", "2")
    command = [sys.executable, "-m", "pytest", "-n", workers, "--dist", "loadfile", *argv]
    code = subprocess.call(command, env=env)
    if code == 5:
        print("pytest collected no tests: that is a failure, not a pass.")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
