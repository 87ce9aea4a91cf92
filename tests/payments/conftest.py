"""Fixtures for payments: an application awaiting payment with its bill, signed sandbox webhooks."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.models import Application
from applications.workflow import Status
from payments import services
from payments.gateways import sandbox as sandbox_gateway
from payments.models import Bill
from tests.applications.conftest import (  # noqa: F401 (fixtures shared with applications)
    _private_files,
    advance,
    complete_draft,
    draft,
    passport_service,
    permit_service,
    regular_passport_service,
    submitted,
)

SECRET = "test-sandbox-secret"


@pytest.fixture(autouse=True)
def _sandbox_gateway(settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    settings.SANDBOX_WEBHOOK_SECRET = SECRET
    settings.SANDBOX_WEBHOOK_URL = ""


@pytest.fixture
def awaiting(submitted) -> Bill:  # noqa: F811 (the imported fixture)
    """ani's e-passport application, sent; its bill issued (status awaiting payment)."""
    bill = services.bill_issue(application_id=submitted.pk)
    submitted.refresh_from_db()
    assert submitted.status == Status.AWAITING_PAYMENT
    return bill


def paid_body(bill: Bill, **overrides) -> bytes:
    """What the sandbox gateway sends when `bill` is paid (override any field)."""
    reference = overrides.pop("reference", f"SBX-{uuid.uuid4().hex[:12].upper()}")
    data = {
        "event_id": f"{reference}:paid",
        "billing_code": bill.code,
        "status": "paid",
        "amount": bill.amount,
        "method": "va_bri",
        "ntpn": uuid.uuid4().hex[:16].upper(),
        "paid_at": timezone.now().isoformat(),
        "reference": reference,
    }
    data.update(overrides)
    return json.dumps(data).encode()


def post_webhook(client, body: bytes, *, signature: str | None = None, provider: str = "sandbox"):
    """POST `body` to the webhook signed with the test secret (or the given header)."""
    header = signature if signature is not None else sandbox_gateway.sign(body, secret=SECRET)
    return client.post(
        reverse("payments:webhook", args=[provider]),
        data=body,
        content_type="application/json",
        headers={sandbox_gateway.HEADER: header},
    )


def result(response) -> str:
    """The word the webhook answered with: applied, held, duplicate, received…"""
    return response.json()["result"]


def fresh(bill: Bill) -> Bill:
    return Bill.objects.get(pk=bill.pk)


def application_of(bill: Bill) -> Application:
    return Application.objects.get(pk=bill.application_id)
