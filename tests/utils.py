"""Small helpers for reading what the portal sent back."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from django.contrib.messages import get_messages
from django.db import connection
from django.test import TestCase
from django.utils import translation
from django.utils.translation import gettext


def in_language(language: str, message: str) -> str:
    """`message` as the portal shows it in `language` (whatever the catalogue says today)."""
    with translation.override(language):
        return gettext(message)


def page_text(response) -> str:
    """The response body with HTML entities decoded (apostrophes, quotes)."""
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def link_in(body: str, path_part: str) -> str:
    """The path of the first link in an email body whose path contains `path_part`."""
    for url in re.findall(r"https?://\S+", body):
        path = urlparse(url).path
        if path_part in path:
            return path
    raise AssertionError(f"no link containing {path_part!r} in:\n{body}")


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "the page has no <html lang=...>"
    return match.group(1)


@contextmanager
def committed() -> Iterator[list]:
    """Run what the block scheduled for after commit, as a real commit would.

    Tests run inside a transaction that is rolled back, so `on_commit` hooks
    (the outbox handing messages to Celery) never fire on their own. Use with
    the `tasks_inline` fixture to have the messages actually sent.
    """
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        yield callbacks


OK = "ok"


def together(*calls: Callable[[], object], timeout: float = 60) -> list[tuple[str, object]]:
    """Run each call in its own thread, all released at once by a barrier (races
    on PostgreSQL); each outcome is (OK, result) or (error name, error)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, object]] = [("not run", None)] * len(calls)

    def run(position: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[position] = (OK, call())
        except Exception as error:  # recorded and asserted on by the test
            outcomes[position] = (type(error).__name__, error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread is stuck (deadlock?)"
    return outcomes


# --- Two-factor in tests ------------------------------------------------------
# Staff must pass a second factor before any staff page (accounts.middleware).
# Most tests are about something else, so tests/conftest.py makes
# `client.force_login(staff)` also verify a device; tests about the second
# factor itself log in with `login_unverified`.

_plain_force_login = None


def login_unverified(client, user) -> None:
    """Log in with the password step only: no device has verified this session."""
    from django.test.client import ClientMixin

    (_plain_force_login or ClientMixin.force_login)(client, user)


def verify_second_factor(client, user):
    """Mark the client's session as verified by a (new or existing) TOTP device of `user`."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
