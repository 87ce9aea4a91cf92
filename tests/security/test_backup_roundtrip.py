# ruff: noqa: F811  (the fixtures imported from tests/imigrasi/test_backup.py are arguments)
"""Backups whose manifest was edited are refused before anything changes (TRUST.md, "Backups").

tests/imigrasi/test_backup.py covers the round trip (backup, flush, delete the
private files, restore: same rows, same files, NIK and passport numbers still
decrypt and the blind index still matches) and files altered behind the
manifest's back. What it leaves out is the other side: the manifest's own
SHA-256 entries changed while the files stay as they were, and an archive
holding a file the manifest never listed, or missing one it lists.
"""

from __future__ import annotations

import io
import tarfile

import pytest
from django.core.management import CommandError

from offices.management import backups
from tests.imigrasi.test_backup import (  # noqa: F401 (fixtures)
    assert_untouched,
    backup_dir,
    live_state,
    manifest_of,
    private_root,
    restore,
    rewrite_manifest,
)

pytestmark = pytest.mark.postgres


def flipped(digest: str) -> str:
    """The same SHA-256 with its first hex digit changed."""
    return ("1" if digest[0] == "0" else "0") + digest[1:]


def test_a_changed_checksum_of_the_database_dump_in_the_manifest_is_refused(
    backup_dir, live_state, private_root, ani
):
    manifest = manifest_of(backup_dir)
    dump = manifest["database"]["file"]
    manifest["files"][dump]["sha256"] = flipped(manifest["files"][dump]["sha256"])
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match="Checksum mismatch"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


def test_a_changed_checksum_of_the_archive_in_the_manifest_is_refused(
    backup_dir, live_state, private_root, ani
):
    manifest = manifest_of(backup_dir)
    entry = manifest["files"][backups.PRIVATE_ARCHIVE]
    entry["sha256"] = flipped(entry["sha256"])
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match="Checksum mismatch"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


def test_a_changed_checksum_of_one_private_file_in_the_manifest_is_refused(
    backup_dir, live_state, private_root, ani
):
    manifest = manifest_of(backup_dir)
    entry = manifest["private_files"]["documents/0b7c.png"]
    entry["sha256"] = flipped(entry["sha256"])
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match="Checksum mismatch for private file 'documents/0b7c"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


def test_an_archive_with_a_file_the_manifest_does_not_list_is_refused(
    backup_dir, live_state, private_root, ani, tmp_path
):
    """The tarball's own checksum is rewritten to match: the file list still catches it."""
    archive = backup_dir / backups.PRIVATE_ARCHIVE
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(unpacked / "documents", arcname="documents")
        tar.add(unpacked / "receipts", arcname="receipts")
        extra = tarfile.TarInfo("documents/planted.png")
        extra.size = 5
        tar.addfile(extra, io.BytesIO(b"extra"))
    manifest = manifest_of(backup_dir)
    manifest["files"][backups.PRIVATE_ARCHIVE] = backups.file_digest(archive)
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match=r"'documents/planted\.png', not in the manifest"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)


def test_a_manifest_listing_a_file_the_archive_lacks_is_refused(
    backup_dir, live_state, private_root, ani
):
    manifest = manifest_of(backup_dir)
    manifest["private_files"]["documents/vanished.png"] = {"sha256": "0" * 64, "size": 1}
    rewrite_manifest(backup_dir, manifest)

    with pytest.raises(CommandError, match=r"lacks 1 file.*documents/vanished\.png"):
        restore(backup_dir, interactive=False)

    assert_untouched(private_root, live_state, ani)
