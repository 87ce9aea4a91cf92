"""Small helpers for reading what the portal sent back."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from django.contrib.messages import get_messages
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
