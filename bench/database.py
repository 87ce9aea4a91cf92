"""Make sure the configured database exists before `migrate` runs against it."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from bench.core import POSTGRES_SCHEMES, BenchError, Database, log


def ensure_exists(env: Mapping[str, str], database: Database) -> None:
    """Create a missing PostgreSQL database (e.g. imigrasi_bench); SQLite creates itself."""
    if database.vendor != "postgresql":
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(env["DATABASE_URL"].strip())
    if parts.scheme.lower() not in POSTGRES_SCHEMES:
        return
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise BenchError("DATABASE_URL names no database")
    connect = {
        "host": parts.hostname or None,
        "port": parts.port,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "connect_timeout": 5,
    }
    connect = {key: value for key, value in connect.items() if value is not None}
    try:
        with psycopg.connect(dbname=name, **connect):
            return
    except psycopg.OperationalError as e:
        if "does not exist" not in str(e):
            raise BenchError(f"cannot connect to {database.url}: {e}") from e
    log(f"creating database {name}")
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **connect) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as e:
        raise BenchError(f"cannot create database {name}: {e}") from e


def drop(env: Mapping[str, str], database: Database) -> None:
    """Drop a PostgreSQL database (a group's own, to seed it afresh), closing its sessions."""
    if database.vendor != "postgresql":
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(env["DATABASE_URL"].strip())
    name = unquote(parts.path.lstrip("/"))
    if not name or name == "postgres":
        raise BenchError(f"refusing to drop database {name!r}")
    connect = {
        "host": parts.hostname or None,
        "port": parts.port,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "connect_timeout": 5,
    }
    connect = {key: value for key, value in connect.items() if value is not None}
    log(f"dropping database {name}")
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **connect) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as e:
        raise BenchError(f"cannot drop database {name}: {e}") from e
