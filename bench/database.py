"""PostgreSQL databases for the bench: created before `migrate`, a group's own, marked, copied.

A group with a database of its own (`applications`, `payments`) names it on the server of
DATABASE_URL; its seed is marked with a comment on the database so that a later run can tell
whether it may reuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

from bench.core import POSTGRES_SCHEMES, BenchError, Context, Database, log


def connect_args(url: str) -> tuple[str, dict]:
    """The database's name and psycopg's other connection arguments."""
    parts = urlsplit(url.strip())
    connect = {
        "host": parts.hostname or None,
        "port": parts.port,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "connect_timeout": 5,
    }
    return unquote(parts.path.lstrip("/")), {k: v for k, v in connect.items() if v is not None}


def ensure_exists(env: Mapping[str, str], database: Database) -> None:
    """Create a missing PostgreSQL database (e.g. imigrasi_bench); SQLite creates itself."""
    if database.vendor != "postgresql":
        return
    import psycopg
    from psycopg import sql

    if urlsplit(env["DATABASE_URL"].strip()).scheme.lower() not in POSTGRES_SCHEMES:
        return
    name, connect = connect_args(env["DATABASE_URL"])
    if not name:
        raise BenchError("DATABASE_URL names no database")
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

    name, connect = connect_args(env["DATABASE_URL"])
    if not name or name == "postgres":
        raise BenchError(f"refusing to drop database {name!r}")
    log(f"dropping database {name}")
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **connect) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as e:
        raise BenchError(f"cannot drop database {name}: {e}") from e


def with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def group_environment(env: Mapping[str, str], name: str, override: str) -> dict[str, str]:
    """The run's environment with a group's own PostgreSQL database as DATABASE_URL: `override`
    when set, else `name` on the server of DATABASE_URL, else on postgres@127.0.0.1:5432."""
    own = dict(env)
    configured = (env.get("DATABASE_URL") or "").strip()
    if (env.get(override) or "").strip():
        own["DATABASE_URL"] = env[override].strip()
    elif urlsplit(configured).scheme.lower() in POSTGRES_SCHEMES:
        own["DATABASE_URL"] = with_name(configured, name)  # same server, own database
    else:
        own["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    return own


def require_postgresql(env: Mapping[str, str], group: str) -> Database:
    database = Database.from_env(env)
    if database.vendor != "postgresql":
        raise BenchError(f"the {group} group needs PostgreSQL, not {database.url}")
    return database


def mark(url: str, *, via: str | None = None) -> str | None:
    """The comment on a database (its seed's mark), read in the database itself or `via`."""
    import psycopg

    name, connect = connect_args(url)
    try:
        with psycopg.connect(dbname=via or name, **connect) as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [name],
            ).fetchone()
    except psycopg.Error as e:
        raise BenchError(f"cannot read the mark of {name}: {e}") from e
    return row[0] if row else None


def set_mark(url: str, text: str, *, via: str | None = None) -> None:
    import psycopg
    from psycopg import sql

    name, connect = connect_args(url)
    with psycopg.connect(dbname=via or name, autocommit=True, **connect) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
        )


def rebuild(ctx: Context, env: dict[str, str], database: Database) -> None:
    """Drop the database of `env`, create it again, `migrate` and `seed_demo`."""
    drop(env, database)
    ensure_exists(env, database)
    ctx.manage("migrate", "--no-input", "-v", "0", env=env)
    ctx.manage("seed_demo", "-v", "0", env=env)


def create_from_template(url: str, template: str) -> None:
    import psycopg
    from psycopg import sql

    name, connect = connect_args(url)
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **connect) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    except psycopg.Error as e:
        raise BenchError(f"cannot create {name} from {template}: {e}") from e
