"""Adapter for an HTTP SMS gateway: JSON POST with an API key.

Request: POST SMS_GATEWAY_URL, header `Authorization: Bearer <key>`, body
`{"to": "+628…", "text": "…", "reference": "<our id>", "callback_url": "…"}`.
A 2xx answer carrying `{"message_id": "…"}` means the gateway has it (a
signed delivery receipt follows); 5xx, timeouts and malformed answers are
temporary; other 4xx are permanent (bad number, rejected content).
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse

from notifications.sms import PERMANENT, SENDING, TEMPORARY, SmsBackend, SmsResult

logger = logging.getLogger(__name__)


class HttpGatewayBackend(SmsBackend):
    def send(self, *, to: str, text: str, reference: str) -> SmsResult:
        payload = {
            "to": to,
            "text": text,
            "reference": reference,
            "callback_url": settings.SITE_URL + reverse("notifications:sms_receipt"),
        }
        request = urllib.request.Request(  # noqa: S310 (URL from settings)
            settings.SMS_GATEWAY_URL,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_API_KEY}",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310  # nosec B310  # URL is settings.SMS_GATEWAY_URL (operator), never input
                request, timeout=settings.SMS_GATEWAY_TIMEOUT
            ) as response:
                body = response.read(65536)
        except urllib.error.HTTPError as error:
            outcome = TEMPORARY if error.code >= 500 or error.code == 429 else PERMANENT
            return SmsResult(outcome, detail=f"gateway answered HTTP {error.code}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            return SmsResult(TEMPORARY, detail=f"gateway unreachable: {error}")
        except http.client.HTTPException as error:  # a garbled answer (bad status line...)
            return SmsResult(TEMPORARY, detail=f"gateway answered garbled HTTP: {error!r}")
        try:
            message_id = json.loads(body)["message_id"]
        except (ValueError, KeyError, TypeError):
            message_id = None
        # A null, empty or non-scalar id could never match a receipt.
        if not isinstance(message_id, str | int) or isinstance(message_id, bool):
            message_id = ""
        message_id = str(message_id).strip()
        if not message_id:
            return SmsResult(TEMPORARY, detail="gateway answered without a message_id")
        return SmsResult(SENDING, reference=message_id[:100])
