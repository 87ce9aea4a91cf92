"""SMS backends behind one interface: console, locmem (tests) and an HTTP gateway."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

DELIVERED, SENDING, TEMPORARY, PERMANENT = "delivered", "sending", "temporary", "permanent"


@dataclass(frozen=True)
class SmsResult:
    """What the backend learnt: `delivered`, `sending` (the gateway has it,
    a receipt will follow), `temporary` (retry) or `permanent` (never retry)."""

    outcome: str
    reference: str = ""
    detail: str = ""


class SmsBackend(abc.ABC):
    @abc.abstractmethod
    def send(self, *, to: str, text: str, reference: str) -> SmsResult:
        """Hand one message to the provider; never raise for provider errors."""


@lru_cache(maxsize=4)
def _backend(path: str) -> SmsBackend:
    return import_string(path)()


def get_backend() -> SmsBackend:
    return _backend(settings.SMS_BACKEND)
