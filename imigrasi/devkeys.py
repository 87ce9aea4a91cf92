"""Development keys kept under var/keys/ (git-ignored), created on first use.

Only used when DEBUG is on or under the tests (settings.DEV_KEYS); production
must pass every key through the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def read_or_create(path: Path, generate: Callable[[], str]) -> str:
    """Return the key stored at `path`, creating it (mode 0600) if absent.

    O_EXCL makes concurrent first runs (parallel test workers) agree on
    one key: the loser of the race reads the winner's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            value = path.read_text().strip()
            if value:
                return value
            import time

            time.sleep(0.01)
        raise
    with os.fdopen(fd, "w") as handle:
        value = generate()
        handle.write(value + "\n")
    return value
