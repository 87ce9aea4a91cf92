from __future__ import annotations

import sys

from notifications.sms import DELIVERED, SmsBackend, SmsResult


class ConsoleBackend(SmsBackend):
    """Prints the message: `make run` shows SMS on the terminal."""

    def send(self, *, to: str, text: str, reference: str) -> SmsResult:
        sys.stdout.write(f"--- SMS to {to} ({reference}) ---\n{text}\n{'-' * 40}\n")
        sys.stdout.flush()
        return SmsResult(DELIVERED, reference=f"console-{reference}")
