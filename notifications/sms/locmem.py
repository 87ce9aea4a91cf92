from __future__ import annotations

from dataclasses import dataclass

from notifications.sms import DELIVERED, SmsBackend, SmsResult


@dataclass
class SentSms:
    to: str
    text: str
    reference: str


# Like django.core.mail.outbox: tests read what was "sent".
outbox: list[SentSms] = []


class LocmemBackend(SmsBackend):
    def send(self, *, to: str, text: str, reference: str) -> SmsResult:
        outbox.append(SentSms(to=to, text=text, reference=reference))
        return SmsResult(DELIVERED, reference=f"locmem-{reference}")
