"""`manage.py backup` and `manage.py restore` (TRUST.md, "Backups").

The round trip runs on PostgreSQL with committed rows (pg_dump runs in its
own session); the refusals use a real pg_dump backup made inside the test's
transaction (pg_dump sees only the committed rows, which is all they need).
SQLite's backup API cannot copy a database with an open write transaction,
so the SQLite code path runs in a child process on a temporary file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from applications.models import Application, Service
from offices.management import backups
from tests.applications.conftest import complete_draft, png_bytes

ANI_NIK = "1802015205900001"
PASSPORT = "X1234567"


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    """Uploaded documents and receipts go to a temporary private root, not var/."""
    root = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    settings.MEDIA_ROOT = root
    return root


def rows() -> dict[str, list[dict]]:
    """Every row of every table (many-to-many tables included), in primary key order."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def file_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def backup(target: Path) -> str:
    out = io.StringIO()
    call_command("backup", output=target, stdout=out)
    return out.getvalue()


def restore(directory: Path, **options) -> str:
    out = io.StringIO()
    call_command("restore", str(directory), stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def manifest_of(directory: Path) -> dict:
    return json.loads((directory / backups.MANIFEST).read_text())


def rewrite_manifest(directory: Path, manifest: dict) -> None:
    (directory / backups.MANIFEST).write_text(json.dumps(manifest))


def put_private_files(root: Path) -> None:
    (root / "documents").mkdir(parents=True)
    (root / "receipts").mkdir()
    (root / "documents" / "0b7c.png").write_bytes(png_bytes())
    (root / "receipts" / "APL-1.pdf").write_bytes(b"%PDF-1.7 receipt")


# --- The round trip ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backup_wipe_restore_gives_back_the_same_rows_and_files_and_pii_still_decrypts(
    ani, eko, budi, office_a, private_root, tmp_path, tasks_inline
):
    application = complete_draft(ani, office_a, Service.objects.get(code="paspor-elektronik-baru"))
    application.set_passport_number(PASSPORT)
    application.save(update_fields=["passport_number_encrypted", "passport_number_index"])
    before_rows, before_files = rows(), file_hashes(private_root)
    assert application.documents.count() == len(before_files) > 0
    target = tmp_path / "backup"

    summary = backup(target)
    assert str(target) in summary
    call_command("flush", interactive=False, stdout=io.StringIO())
    shutil.rmtree(private_root)
    assert not User.objects.exists()
    restored = restore(target, interactive=False)

    assert "Restored the postgresql database" in restored
    assert rows() == before_rows
    assert file_hashes(private_root) == before_files
    assert User.objects.get(pk=ani.pk).nik == ANI_NIK
    assert User.objects.with_nik(ANI_NIK).get().pk == ani.pk  # the blind index still matches
    application = Application.objects.get(pk=application.pk)
    assert application.nik == ANI_NIK
    assert application.passport_number == PASSPORT
    document = application.documents.first()
    assert document.file.read() == png_bytes()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_database_restore_leaves_the_private_files_alone(
    ani, private_root, tmp_path, monkeypatch
):
    put_private_files(private_root)
    target = tmp_path / "backup"
    backup(target)
    (private_root / "documents" / "new.png").write_bytes(b"uploaded after the backup")
    before = file_hashes(private_root)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_restore"
    fake.write_text("#!/bin/sh\necho 'pg_restore: error: could not connect' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))

    with pytest.raises(CommandError, match=r"pg_restore failed.*could not connect"):
        restore(target, interactive=False)

    assert file_hashes(private_root) == before
    assert sorted(p.name for p in private_root.iterdir()) == ["documents", "receipts"]
    assert User.objects.filter(pk=ani.pk).exists()


# --- What a backup holds -------------------------------------------------------


@pytest.fixture
def backup_dir(db, ani, private_root, tmp_path) -> Path:
    put_private_files(private_root)
    target = tmp_path / "backup"
    backup(target)
    return target


@pytest.mark.postgres
def test_a_backup_is_private_and_its_manifest_checks_every_file(backup_dir, private_root):
    assert backup_dir.stat().st_mode & 0o777 == 0o700
    names = sorted(p.name for p in backup_dir.iterdir())
    database_file = backups.DATABASE_FILES[connection.vendor]
    assert names == sorted([database_file, backups.MANIFEST, backups.PRIVATE_ARCHIVE])
    assert {p.stat().st_mode & 0o777 for p in backup_dir.iterdir()} == {0o600}
    manifest = manifest_of(backup_dir)
    assert manifest["database"]["vendor"] == connection.vendor
    for name in (database_file, backups.PRIVATE_ARCHIVE):
        content = (backup_dir / name).read_bytes()
        assert manifest["files"][name] == {
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
        }
    assert manifest["file_count"] == 2
    assert {name: entry["sha256"] for name, entry in manifest["private_files"].items()} == (
        file_hashes(private_root)
    )
    assert manifest["migrations"]["accounts"].startswith("0")
    assert manifest["created_at"].endswith("Z")
    # Never a key in the backup: only short fingerprints to compare at restore time.
    text = (backup_dir / backups.MANIFEST).read_text()
    for key in (*django_settings.PII_ENCRYPTION_KEYS, django_settings.PII_BLIND_INDEX_KEY):
        assert key not in text
    assert not list(backup_dir.parent.glob(".backup.partial-*"))


def test_backup_refuses_an_output_directory_that_is_not_empty(db, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "old.txt").write_text("keep me")

    with pytest.raises(CommandError, match="not empty"):
        backup(target)

    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]


@pytest.mark.postgres
def test_backup_fails_clearly_without_pg_dump_and_leaves_nothing(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "backups" / "now"

    with pytest.raises(CommandError, match=r"pg_dump was not found.*postgresql-client"):
        backup(target)

    assert list((tmp_path / "backups").iterdir()) == []


@pytest.mark.postgres
def test_a_failing_pg_dump_leaves_no_backup_and_never_sees_the_password(db, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen.txt"
    fake = bin_dir / "pg_dump"
    fake.write_text(
        f'#!/bin/sh\necho "$@" > {seen}\necho "PGPASSWORD=$PGPASSWORD" >> {seen}\n'
        "echo 'pg_dump: error: server version mismatch' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "Rahasia-Sekali-99")
    target = tmp_path / "backups" / "now"

    with pytest.raises(CommandError, match=r"pg_dump failed.*server version mismatch"):
        backup(target)

    arguments, environment = seen.read_text().splitlines()
    assert "Rahasia-Sekali-99" not in arguments
    assert "--format=custom" in arguments and "--no-owner" in arguments
    assert f"--dbname={connection.settings_dict['NAME']}" in arguments
    assert environment == "PGPASSWORD=Rahasia-Sekali-99"
    assert list((tmp_path / "backups").iterdir()) == []


# --- Refusals: checked before anything is touched ------------------------------


@pytest.fixture
def live_state(backup_dir, private_root, ani):
    """After the backup: a file changed, one added, the user renamed. Must survive a refusal."""
    (private_root / "receipts" / "APL-1.pdf").write_bytes(b"%PDF-1.7 changed")
    (private_root / "documents" / "later.png").write_bytes(b"uploaded later")
    User.objects.filter(pk=ani.pk).update(full_name="Ani Setelah Backup")
    return file_hashes(private_root)


def assert_untouched(private_root: Path, files: dict[str, str], ani) -> None:
    assert file_hashes(private_root) == files
    assert not [p for p in private_root.iterdir() if p.name.startswith(".restore-")]
    assert User.objects.get(pk=ani.pk).full_name == "Ani Setelah Backup"


@pytest.mark.postgres
def test_restore_refuses_a_tampered_database_file(backup_dir, live_state, private_root, ani):
    dump = backup_dir / manifest_of(backup_dir)["database"]["file"]
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0xFF
    dump.write_bytes(bytes(content))

    with pytest.raises(CommandError, match="Checksum mismatch"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


@pytest.mark.postgres
def test_restore_refuses_a_private_file_changed_inside_the_archive(
    backup_dir, live_state, private_root, ani, tmp_path
):
    """The tarball's own checksum is made to match: the per-file checksums still catch it."""
    archive = backup_dir / backups.PRIVATE_ARCHIVE
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    (unpacked / "documents" / "0b7c.png").write_bytes(b"not the scanned KTP")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(unpacked / "documents", arcname="documents")
        tar.add(unpacked / "receipts", arcname="receipts")
    manifest = manifest_of(backup_dir)
    manifest["files"][backups.PRIVATE_ARCHIVE] = backups.file_digest(archive)
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match="Checksum mismatch for private file 'documents/0b7c"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


@pytest.mark.postgres
def test_restore_refuses_a_backup_without_its_manifest(backup_dir, live_state, private_root, ani):
    (backup_dir / backups.MANIFEST).unlink()

    with pytest.raises(CommandError, match=r"manifest\.json is missing"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


@pytest.mark.postgres
def test_restore_refuses_a_backup_missing_its_private_files(
    backup_dir, live_state, private_root, ani
):
    (backup_dir / backups.PRIVATE_ARCHIVE).unlink()

    with pytest.raises(CommandError, match=r"private-files\.tar\.gz is missing"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


@pytest.mark.postgres
def test_restore_refuses_a_manifest_naming_files_outside_the_backup(
    backup_dir, live_state, private_root, ani
):
    manifest = manifest_of(backup_dir)
    manifest["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "size": 1}
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match="malformed"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


@pytest.mark.postgres
def test_restore_refuses_a_backup_of_another_database_vendor(
    backup_dir, live_state, private_root, ani
):
    manifest = manifest_of(backup_dir)
    manifest["database"]["vendor"] = "oracle"
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match="backup is of a oracle database"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


def _member(name: str, content: bytes = b"", **fields) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    for field, value in fields.items():
        setattr(info, field, value)
    return info, content


UNSAFE_MEMBERS = {
    "parent directory": _member("../evil", b"owned"),
    "nested parent directory": _member("documents/../../evil", b"owned"),
    "absolute path": _member("/imigrasi-evil", b"owned"),
    "symlink": _member("documents/link", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
    "hard link": _member("documents/hard", type=tarfile.LNKTYPE, linkname="documents/0b7c.png"),
    "device": _member("documents/dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3),
}


@pytest.mark.postgres
@pytest.mark.parametrize("case", UNSAFE_MEMBERS, ids=list(UNSAFE_MEMBERS))
def test_restore_refuses_an_archive_with_an_unsafe_member(
    case, backup_dir, live_state, private_root, ani, tmp_path
):
    """Even when the manifest was rewritten to vouch for it (checksums all match)."""
    info, content = UNSAFE_MEMBERS[case]
    archive = backup_dir / backups.PRIVATE_ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(content))
    manifest = manifest_of(backup_dir)
    manifest["files"][backups.PRIVATE_ARCHIVE] = backups.file_digest(archive)
    manifest["private_files"] = {
        info.name: {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    }
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match=r"Unsafe path|not a regular file"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)
    assert not (tmp_path / "evil").exists()
    assert not Path("/imigrasi-evil").exists()


@pytest.mark.postgres
def test_restore_asks_first_and_an_answer_other_than_yes_changes_nothing(
    backup_dir, live_state, private_root, ani, monkeypatch
):
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "y")

    with pytest.raises(CommandError, match="cancelled"):
        restore(backup_dir)

    assert "Type 'yes'" in prompts[0] and str(private_root) in prompts[0]
    assert_untouched(private_root, live_state, ani)


@pytest.mark.postgres
def test_restore_warns_when_the_pii_keys_of_the_backup_are_not_configured(backup_dir, settings):
    from cryptography.fernet import Fernet

    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    _, warnings = backups.verify_backup(backup_dir)

    assert any("PII_ENCRYPTION_KEYS" in warning for warning in warnings)


# --- SQLite ---------------------------------------------------------------------


def test_backup_and_restore_round_trip_a_sqlite_database(tmp_path):
    """The embedded default (`make run`): the SQLite backup API, in a child process."""
    var = tmp_path / "var"
    (var / "private" / "documents").mkdir(parents=True)
    (var / "private" / "documents" / "ktp.png").write_bytes(png_bytes())
    database = tmp_path / "db.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, note TEXT)")
        db.executemany("INSERT INTO visit (note) VALUES (?)", [("pagi",), ("siang",)])
    db.close()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DEBUG"} and not key.startswith("PYTEST")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        VAR_DIR=str(var),
        DEV_KEYS="true",
        DJANGO_SETTINGS_MODULE="imigrasi.settings",
    )

    def manage(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=django_settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = manage("backup", "--output", str(tmp_path / "backup"))
    assert made.returncode == 0, made.stderr
    assert "sqlite database" in made.stdout and "1 private file " in made.stdout
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM visit WHERE note = 'pagi'")
        db.execute("INSERT INTO visit (note) VALUES ('sore')")
    db.close()
    (var / "private" / "documents" / "ktp.png").unlink()
    (var / "private" / "stray.txt").write_text("not in the backup")

    done = manage("restore", "--no-input", str(tmp_path / "backup"))

    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT id, note FROM visit ORDER BY id").fetchall() == [
            (1, "pagi"),
            (2, "siang"),
        ]
    db.close()
    assert file_hashes(var / "private") == {
        "documents/ktp.png": hashlib.sha256(png_bytes()).hexdigest()
    }


def test_a_sqlite_copy_gives_up_on_a_database_that_stays_locked(tmp_path):
    """Python's backup() would retry forever: the command fails with a clear message instead."""
    source = sqlite3.connect(tmp_path / "live.sqlite3")
    source.execute("CREATE TABLE visit (note TEXT)")
    source.commit()
    source.execute("BEGIN")
    source.execute("INSERT INTO visit VALUES ('not committed')")
    target = sqlite3.connect(tmp_path / "copy.sqlite3")

    with pytest.raises(CommandError, match="stayed locked"):
        backups.sqlite_copy(source, target, timeout=0.3)

    source.rollback()
    backups.sqlite_copy(source, target, timeout=0.3)
    assert target.execute("SELECT name FROM sqlite_master").fetchall() == [("visit",)]
    source.close()
    target.close()
