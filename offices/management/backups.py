"""Backups of the database and the private files, and their restore.

A backup is one directory (mode 0700, files 0600) holding:

- the database: a `pg_dump --format=custom` archive (`database.dump`) on
  PostgreSQL, or a copy made with SQLite's backup API (`database.sqlite3`);
- `private-files.tar.gz`: every file under the private storage root
  (uploaded documents, receipts), with paths relative to that root;
- `manifest.json`, written last: SHA-256 and size of every file of the
  backup and of every private file inside the tarball, the database vendor
  and the latest applied migration of each app.

The PII encryption keys are deliberately not part of a backup
(docs/operations.md): they live in the secret store, and a backup of the
database is only readable together with them.

Restoring checks everything before it changes anything: every checksum,
every tar member (regular files only, no absolute paths, no `..`, no
links), the vendor. The database is restored in one transaction and the
files are swapped in only after it succeeded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump/pg_restore only, arguments as a list, no shell
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import storages
from django.core.management.base import CommandError
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

FORMAT = "imigrasi-backup/1"
MANIFEST = "manifest.json"
PRIVATE_ARCHIVE = "private-files.tar.gz"
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
# Work directories of an interrupted restore inside the private root: never backed up.
RESTORE_WORK_PREFIX = ".restore-"
# pg_restore fails instead of waiting forever on a lock held by a running app server.
RESTORE_LOCK_TIMEOUT = "60s"
SQLITE_LOCK_TIMEOUT = 60.0
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Summary:
    directory: Path
    manifest: dict


# --- Shared helpers ----------------------------------------------------------


def private_root() -> Path:
    """The directory of the default (private) file storage."""
    location = getattr(storages["default"], "location", None)
    if not location:
        raise CommandError(
            "The default file storage has no local directory: only FileSystemStorage "
            "can be backed up by this command."
        )
    return Path(location)


def file_digest(path: Path) -> dict:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _stream_digest(handle) -> dict:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def key_fingerprints(keys: list[str]) -> list[str]:
    """Short hashes naming the PII keys, so a restore can tell whether they still match.

    A Fernet key is 256 random bits: a truncated hash of it reveals nothing useful.
    """
    return [hashlib.sha256(key.encode()).hexdigest()[:16] for key in keys]


def applied_migrations(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """The latest applied migration of each app, in the order they were applied."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return {}
    latest: dict[str, str] = {}
    for app, name in recorder.migration_qs.order_by("applied", "id").values_list("app", "name"):
        latest[app] = name
    return dict(sorted(latest.items()))


def code_migrations() -> dict[str, str]:
    """The newest migration of each app in this code (the leaves of the graph)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return dict(sorted(loader.graph.leaf_nodes()))


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _files(count: int) -> str:
    return f"{count} private file{'' if count == 1 else 's'}"


# --- PostgreSQL client programs -----------------------------------------------


def _postgres_command(
    connection: BaseDatabaseWrapper, program: str, arguments: list[str], *, lock_timeout: str = ""
) -> tuple[list[str], dict[str, str]]:
    """`program` with the connection settings of `connection`.

    The password travels in PGPASSWORD (with sslmode, service, passfile…: the
    environment Django's own `dbshell` builds), never on the command line,
    where any local user could read it in the process list.
    """
    executable = shutil.which(program)
    if executable is None:
        raise CommandError(
            f"{program} was not found on PATH. Install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client), of the server's major "
            "version or newer."
        )
    settings_dict = connection.settings_dict
    _, client_env = connection.client.settings_to_cmd_args_env(settings_dict, [])
    command = [executable, *arguments, "--no-password"]
    if settings_dict.get("HOST"):
        command.append(f"--host={settings_dict['HOST']}")
    if settings_dict.get("PORT"):
        command.append(f"--port={settings_dict['PORT']}")
    if settings_dict.get("USER"):
        command.append(f"--username={settings_dict['USER']}")
    if settings_dict.get("NAME"):
        command.append(f"--dbname={settings_dict['NAME']}")
    env = {**os.environ, **(client_env or {})}
    if lock_timeout:
        env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={lock_timeout}".strip()
    return command, env


def _run(command: list[str], env: dict[str, str], program: str) -> None:
    result = subprocess.run(  # noqa: S603  # nosec B603  # program found by shutil.which, no shell
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:] or "no message"
        raise CommandError(f"{program} failed (exit status {result.returncode}): {detail}")


# --- Database ----------------------------------------------------------------


def sqlite_copy(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    *,
    timeout: float = SQLITE_LOCK_TIMEOUT,
) -> None:
    """Copy one SQLite database into another with the backup API, or fail.

    Python's `backup()` retries forever while the source is busy (another
    writer, or an open transaction on the source connection itself); the
    progress callback, called after every step, gives up after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout

    def progress(status: int, remaining: int, total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and (time.monotonic() > deadline):
            raise CommandError(
                f"The SQLite database stayed locked for {timeout:g} s: stop the "
                "programs writing to it (or finish the open transaction) and try again."
            )

    source.backup(target, pages=-1, progress=progress, sleep=0.1)


def dump_database(connection: BaseDatabaseWrapper, target: Path) -> None:
    if connection.vendor == "postgresql":
        command, env = _postgres_command(
            connection,
            "pg_dump",
            ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
        )
        _run(command, env, "pg_dump")
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            sqlite_copy(connection.connection, copy)
            # One self-contained file: no -wal/-shm beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    else:
        raise CommandError(f"Backups of a {connection.vendor} database are not supported.")
    target.chmod(0o600)


def restore_database(connection: BaseDatabaseWrapper, source: Path) -> None:
    if connection.vendor == "postgresql":
        command, env = _postgres_command(
            connection,
            "pg_restore",
            ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"],
            lock_timeout=RESTORE_LOCK_TIMEOUT,
        )
        command.append(str(source))
        if connection.in_atomic_block:
            # pg_restore would wait for the locks of our own open transaction.
            raise CommandError("A restore cannot run inside a database transaction.")
        # Our own idle connection must not keep locks or cached plans of the dropped tables.
        connection.close()
        _run(command, env, "pg_restore")
        connection.close()
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            sqlite_copy(backup, connection.connection)
        finally:
            backup.close()
    else:
        raise CommandError(f"Restoring a {connection.vendor} database is not supported.")


# --- Private files -------------------------------------------------------------


def _private_files(root: Path) -> list[Path]:
    """Regular files under `root`, sorted; links are not followed (nothing outside the root)."""
    if not root.exists():
        return []
    found = []
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        if here == root:
            subdirectories[:] = [d for d in subdirectories if not d.startswith(RESTORE_WORK_PREFIX)]
        subdirectories.sort()
        for name in sorted(files):
            path = here / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


class _HashingReader:
    """Hashes what tarfile reads, so the manifest describes the bytes in the archive."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def archive_private_files(root: Path, target: Path) -> dict[str, dict]:
    """Write every private file into a tar.gz; answer {relative path: digest}."""
    entries: dict[str, dict] = {}
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for path in _private_files(root):
            relative = path.relative_to(root).as_posix()
            with path.open("rb") as handle:
                info = archive.gettarinfo(arcname=relative, fileobj=handle)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                reader = _HashingReader(handle)
                archive.addfile(info, reader)
            entries[relative] = {"sha256": reader.digest.hexdigest(), "size": info.size}
    return entries


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def verify_private_archive(archive_path: Path, expected: dict[str, dict]) -> list[str]:
    """Check every member of the tarball before anything is extracted.

    Only regular files with relative names inside the root, each listed in
    the manifest with the same SHA-256 and size, and every listed file present.
    """
    seen: set[str] = set()
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            for member in archive:
                if not _safe_member_name(member.name):
                    raise CommandError(f"Unsafe path in {PRIVATE_ARCHIVE}: {member.name!r}.")
                if member.isdir():
                    continue
                if not member.isreg():
                    raise CommandError(
                        f"{PRIVATE_ARCHIVE} holds {member.name!r}, which is not a regular "
                        "file (links and devices are refused)."
                    )
                name = PurePosixPath(member.name).as_posix()
                if name in seen:
                    raise CommandError(f"{PRIVATE_ARCHIVE} holds {name!r} twice.")
                seen.add(name)
                if name not in expected:
                    raise CommandError(f"{PRIVATE_ARCHIVE} holds {name!r}, not in the manifest.")
                handle = archive.extractfile(member)
                if handle is None or _stream_digest(handle) != expected[name]:
                    raise CommandError(f"Checksum mismatch for private file {name!r}.")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CommandError(f"{PRIVATE_ARCHIVE} cannot be read: {exc}") from exc
    missing = sorted(set(expected) - seen)
    if missing:
        raise CommandError(f"{PRIVATE_ARCHIVE} lacks {len(missing)} file(s), e.g. {missing[0]!r}.")
    return sorted(seen)


def extract_private_files(archive_path: Path, staging: Path, expected: dict[str, dict]) -> None:
    with tarfile.open(archive_path, mode="r:gz") as archive:
        # The "data" filter refuses absolute paths, `..`, links and device files
        # again, even though verify_private_archive already did.
        archive.extractall(staging, filter="data")
    for name, digest in expected.items():
        if file_digest(staging / name) != digest:
            raise CommandError(f"Private file {name!r} changed while it was being restored.")


def swap_private_files(root: Path, staging: Path) -> None:
    """Replace the contents of `root` by those of `staging` (a directory inside `root`).

    Renames within the root, which may be a mount point (a Docker volume)
    that cannot itself be renamed.
    """
    old = root / f"{RESTORE_WORK_PREFIX}old-{secrets.token_hex(4)}"
    old.mkdir(mode=0o700)
    for entry in list(root.iterdir()):
        if entry not in (old, staging):
            entry.rename(old / entry.name)
    for entry in list(staging.iterdir()):
        entry.rename(root / entry.name)
    staging.rmdir()
    shutil.rmtree(old)


# --- Backup -------------------------------------------------------------------


def default_backup_directory(now: dt.datetime) -> Path:
    return Path(settings.VAR_DIR) / "backups" / now.strftime("%Y%m%dT%H%M%SZ")


def create_backup(output: Path | None = None, *, using: str = "default") -> Summary:
    """Write a complete backup to `output`, or leave nothing that looks like one.

    1. Refuse an `output` that exists and is not empty.
    2. Work in a hidden sibling directory (mode 0700).
    3. Dump the database, then archive the private files.
    4. Write the manifest last, then rename the directory into place.
    """
    connection = connections[using]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    target = Path(output) if output else default_backup_directory(now)
    target = target.absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CommandError(f"{target} already exists and is not empty.")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        database_file = DATABASE_FILES.get(connection.vendor, "database")
        dump_database(connection, work / database_file)
        private = archive_private_files(private_root(), work / PRIVATE_ARCHIVE)
        files = {name: file_digest(work / name) for name in (database_file, PRIVATE_ARCHIVE)}
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "database": {
                "vendor": connection.vendor,
                "name": str(connection.settings_dict.get("NAME") or ""),
                "file": database_file,
            },
            "migrations": applied_migrations(connection),
            "private_files_archive": PRIVATE_ARCHIVE,
            "file_count": len(private),
            "files": files,
            "private_files": private,
            # Not the keys: names to check them against at restore time (docs/operations.md).
            "pii_key_fingerprints": key_fingerprints(settings.PII_ENCRYPTION_KEYS),
        }
        for name in files:
            _fsync(work / name)
        manifest_path = work / MANIFEST
        descriptor = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(work, target)  # atomic; replaces an empty directory
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Summary(directory=target, manifest=manifest)


def describe_backup(summary: Summary) -> str:
    manifest = summary.manifest
    database = manifest["files"][manifest["database"]["file"]]["size"]
    private = sum(entry["size"] for entry in manifest["private_files"].values())
    return (
        f"Backup written to {summary.directory}: {manifest['database']['vendor']} database "
        f"({_human(database)}), {_files(manifest['file_count'])} ({_human(private)})."
    )


# --- Restore ------------------------------------------------------------------


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and name not in (".", "..")


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory.")
    if not path.is_file():
        raise CommandError(f"{path} is missing: this is not a complete backup.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CommandError(f"{path} is not an Imigrasi backup manifest ({FORMAT}).")
    try:
        files = manifest["files"]
        database = manifest["database"]
        names = {database["file"], manifest["private_files_archive"]}
        well_formed = (
            isinstance(files, dict)
            and isinstance(database["vendor"], str)
            and isinstance(manifest["private_files"], dict)
            and isinstance(manifest["migrations"], dict)
        )
    except (KeyError, TypeError) as exc:
        raise CommandError(f"{path} is incomplete: {exc!r} missing.") from exc
    if not well_formed or not all(map(_plain_name, files)) or not names <= set(files):
        raise CommandError(f"{path} is malformed: it lists unexpected entries.")
    return manifest


def verify_backup(directory: Path, *, using: str = "default") -> tuple[dict, list[str]]:
    """Every check a restore makes before changing anything; answers (manifest, warnings)."""
    directory = Path(directory).absolute()
    manifest = read_manifest(directory)
    for name, expected in sorted(manifest["files"].items()):
        path = directory / name
        if not path.is_file() or path.is_symlink():
            raise CommandError(f"{path} is missing from the backup.")
        if file_digest(path) != expected:
            raise CommandError(f"Checksum mismatch for {path}: the backup was altered or damaged.")
    verify_private_archive(directory / manifest["private_files_archive"], manifest["private_files"])
    connection = connections[using]
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise CommandError(
            f"This backup is of a {vendor} database; the configured one is {connection.vendor}."
        )
    warnings = []
    known = set(key_fingerprints(settings.PII_ENCRYPTION_KEYS))
    if not known & set(manifest.get("pii_key_fingerprints", [])):
        warnings.append(
            "None of the configured PII_ENCRYPTION_KEYS was in use when this backup was "
            "made: encrypted NIKs and passport numbers will not decrypt until the key of "
            "that time is configured again."
        )
    if manifest["migrations"] != code_migrations():
        warnings.append(
            "The backup's migrations differ from this code's: after restoring, run "
            "`manage.py migrate` (or restore with the code version of the backup)."
        )
    return manifest, warnings


def restore_backup(directory: Path, manifest: dict, *, using: str = "default") -> str:
    """Put the database and the private files back; `manifest` comes from verify_backup.

    1. Extract the private files into a work directory inside the private root
       and check them again (the live files are untouched).
    2. Restore the database (one transaction: on failure nothing changed,
       the work directory is removed).
    3. Swap the restored files in.
    """
    directory = Path(directory).absolute()
    connection = connections[using]
    root = private_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = root / f"{RESTORE_WORK_PREFIX}new-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        extract_private_files(
            directory / manifest["private_files_archive"], staging, manifest["private_files"]
        )
        restore_database(connection, directory / manifest["database"]["file"])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_private_files(root, staging)
    ContentType.objects.clear_cache()  # its ids may have changed with the rows
    return (
        f"Restored the {manifest['database']['vendor']} database and "
        f"{_files(manifest['file_count'])} from {directory} "
        f"(backup of {manifest['created_at']})."
    )
