"""Signed delivery receipts from the SMS gateway: a valid one moves the SMS
to its final state; an unsigned, forged or stale one is refused with 401
and changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from notifications import receipts
from notifications.models import Channel, Notification, NotificationEvent
from notifications.services import notify
from tests.notifications.conftest import CONTEXT, STATUS_EVENT
from tests.notifications.support import fresh, history

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "notification_events")]

URL = reverse("notifications:sms_receipt")
SECRET = "test-receipt-secret-91c2"  # as the sms_gateway fixture configures
Status = Notification.Status


@pytest.fixture
def sms(reachable_ani, sms_gateway, django_capture_on_commit_callbacks) -> Notification:
    """An SMS the gateway accepted as gw-1: it waits in `sending` for its receipt."""
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.SMS])
    row = fresh(row)
    assert (row.status, row.provider_reference) == (Status.SENDING, "gw-1")
    return row


def post(client, payload, *, secret=SECRET, timestamp=None, signature=None, headers=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    if headers is None:
        headers = {
            "X-Timestamp": str(timestamp),
            "X-Signature": signature or receipts.sign(body, timestamp, secret),
        }
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def unchanged(row: Notification) -> bool:
    now = fresh(row)
    return (now.status, now.reason, now.delivered_at) == (row.status, row.reason, None) and (
        NotificationEvent.objects.filter(notification=row).count() == len(history(row))
        and history(row)[-1] == Status.SENDING
    )


def test_a_signed_delivered_receipt_marks_the_sms_delivered(client, sms):
    response = post(client, {"message_id": "gw-1", "status": "delivered"})

    assert response.status_code == 200
    assert response.json() == {"result": Status.DELIVERED}
    row = fresh(sms)
    assert row.status == Status.DELIVERED
    assert row.delivered_at is not None
    assert history(row)[-1] == Status.DELIVERED


@pytest.mark.parametrize("reported", ["failed", "rejected", "expired", "UNDELIVERABLE"])
def test_a_signed_failure_receipt_is_a_permanent_failure(client, sms, reported):
    response = post(
        client, {"message_id": "gw-1", "status": reported, "detail": "handset unreachable"}
    )

    assert response.status_code == 200
    row = fresh(sms)
    assert row.status == Status.PERMANENT_FAILURE
    assert row.reason == f"gateway reported {reported.lower()}: handset unreachable"
    assert history(row)[-1] == Status.PERMANENT_FAILURE


def test_an_intermediate_status_is_acknowledged_and_changes_nothing(client, sms):
    response = post(client, {"message_id": "gw-1", "status": "buffered"})

    assert response.status_code == 200
    assert response.json() == {"result": "ignored"}
    assert unchanged(sms)


def test_an_unsigned_receipt_is_refused(client, sms):
    response = post(client, {"message_id": "gw-1", "status": "delivered"}, headers={})

    assert response.status_code == 401
    assert unchanged(sms)


def test_a_receipt_signed_with_another_key_is_refused(client, sms):
    response = post(client, {"message_id": "gw-1", "status": "delivered"}, secret="guessed")

    assert response.status_code == 401
    assert unchanged(sms)


def test_a_receipt_whose_body_was_altered_after_signing_is_refused(client, sms):
    timestamp = int(time.time())
    signed = json.dumps({"message_id": "gw-1", "status": "failed"}).encode()
    altered = json.dumps({"message_id": "gw-1", "status": "delivered"}).encode()

    response = post(
        client,
        altered,
        timestamp=timestamp,
        signature=receipts.sign(signed, timestamp, SECRET),
    )

    assert response.status_code == 401
    assert unchanged(sms)


@pytest.mark.parametrize("skew", [-301, 310, -3600])
def test_a_receipt_with_a_stale_or_future_timestamp_is_refused(client, sms, skew):
    response = post(
        client, {"message_id": "gw-1", "status": "delivered"}, timestamp=int(time.time()) + skew
    )

    assert response.status_code == 401
    assert unchanged(sms)


def test_a_receipt_with_a_timestamp_that_is_not_a_number_is_refused(client, sms):
    body = json.dumps({"message_id": "gw-1", "status": "delivered"}).encode()
    response = post(
        client,
        body,
        headers={"X-Timestamp": "yesterday", "X-Signature": receipts.sign(body, 0, SECRET)},
    )

    assert response.status_code == 401
    assert unchanged(sms)


def test_without_a_configured_secret_every_receipt_is_refused(client, sms, settings):
    settings.SMS_RECEIPT_SECRET = ""

    response = post(client, {"message_id": "gw-1", "status": "delivered"}, secret="")

    assert response.status_code == 401
    assert unchanged(sms)


def test_a_receipt_for_an_unknown_message_id_changes_nothing(client, sms):
    response = post(client, {"message_id": "gw-999", "status": "delivered"})

    assert response.status_code == 200
    assert response.json() == {"result": "unknown-or-final"}
    assert unchanged(sms)


def test_an_empty_message_id_matches_nothing(client, sms):
    # A row claimed but not yet accepted by the gateway has no provider id at all.
    Notification.objects.filter(pk=sms.pk).update(provider_reference="")

    response = post(client, {"message_id": "", "status": "failed"})

    assert response.json() == {"result": "unknown-or-final"}
    assert fresh(sms).status == Status.SENDING


def test_a_second_receipt_for_a_final_sms_changes_nothing(client, sms):
    post(client, {"message_id": "gw-1", "status": "delivered"})
    events = len(history(sms))

    response = post(client, {"message_id": "gw-1", "status": "failed"})

    assert response.json() == {"result": "unknown-or-final"}
    assert fresh(sms).status == Status.DELIVERED
    assert len(history(sms)) == events


def test_a_signed_but_malformed_receipt_is_a_bad_request(client, sms):
    for body in (b"not json", json.dumps({"status": "delivered"}).encode(), b"[]"):
        response = post(client, body)
        assert response.status_code == 400
    assert unchanged(sms)


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_not_allowed(client, sms, method):
    response = getattr(client, method)(URL)

    assert response.status_code == 405
    assert unchanged(sms)
