"""Indonesian is the default language: every marked string must have an Indonesian text.

The catalogue is re-extracted from a copy of the source tree (so the real
locale/ is untouched) and merged with the committed Indonesian one; any
untranslated or fuzzy entry left after the merge is a string that would
reach a citizen in English.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(
    shutil.which("msgattrib") is None, reason="gettext tools are not installed"
)

IGNORED = {".venv", "var", ".git", "node_modules", ".pytest_cache", ".ruff_cache", "bench"}


def _extract(tmp_path: Path) -> Path:
    copy = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR, copy, ignore=lambda d, names: [n for n in names if n in IGNORED]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DEV_KEYS="true", VAR_DIR=str(tmp_path / "var"), DATABASE_URL="")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "id", "--no-location",
         "--ignore", "tests", "--ignore", "bench"],
        cwd=copy, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return copy / "locale" / "id" / "LC_MESSAGES" / "django.po"


def _entries(command: list[str]) -> list[str]:
    """The entries msgattrib selected, without the catalogue header."""
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    entries = [block.strip() for block in output.split("\n\n") if "msgid" in block]
    return [entry for entry in entries if "Content-Type:" not in entry]


def test_every_string_in_the_code_has_an_indonesian_translation(tmp_path):
    merged = _extract(tmp_path)
    untranslated = _entries(["msgattrib", "--untranslated", "--no-obsolete", str(merged)])
    assert untranslated == [], f"untranslated into Indonesian: {untranslated[:20]}"


def test_no_indonesian_translation_is_left_fuzzy(tmp_path):
    merged = _extract(tmp_path)
    fuzzy = _entries(["msgattrib", "--only-fuzzy", "--no-obsolete", str(merged)])
    assert fuzzy == [], f"fuzzy Indonesian entries: {fuzzy[:20]}"
