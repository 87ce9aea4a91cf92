"""The HTTP SMS gateway adapter against a local fake gateway: what it sends,
and how each kind of answer is classified (it never raises)."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from notifications.sms import PERMANENT, SENDING, TEMPORARY
from notifications.sms.http import HttpGatewayBackend
from tests.notifications.gateway import Reply

TEXT = "Imigrasi: permohonan PSP-2026-0042 kini disetujui."


@pytest.fixture
def backend(sms_gateway) -> HttpGatewayBackend:
    return HttpGatewayBackend()


def send(backend):
    return backend.send(to="+6281234567890", text=TEXT, reference="42")


def test_it_posts_the_message_as_json_with_the_api_key(backend, sms_gateway, settings):
    send(backend)

    (request,) = sms_gateway.requests
    assert request.path == "/v1/messages"
    assert request.headers["Authorization"] == "Bearer test-api-key-7f3a"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {
        "to": "+6281234567890",
        "text": TEXT,
        "reference": "42",
        "callback_url": settings.SITE_URL + reverse("notifications:sms_receipt"),
    }


def test_a_non_ascii_text_arrives_intact(backend, sms_gateway):
    backend.send(to="+6281234567890", text="Jadwal: Senin — 08.00 🙂", reference="7")

    assert sms_gateway.requests[0].json["text"] == "Jadwal: Senin — 08.00 🙂"


@pytest.mark.parametrize("status", [200, 201, 202])
def test_a_2xx_with_a_message_id_means_the_gateway_has_it(backend, sms_gateway, status):
    sms_gateway.answer(Reply(status, {"message_id": "gw-abc-123", "segments": 1}))

    result = send(backend)

    assert result.outcome == SENDING
    assert result.reference == "gw-abc-123"


def test_a_numeric_message_id_is_kept_as_text(backend, sms_gateway):
    sms_gateway.answer(Reply(200, {"message_id": 98765}))

    assert send(backend).reference == "98765"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_server_error_or_rate_limit_is_temporary(backend, sms_gateway, status):
    sms_gateway.answer(Reply(status, {"error": "busy"}))

    result = send(backend)

    assert result.outcome == TEMPORARY
    assert f"HTTP {status}" in result.detail


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_another_client_error_is_permanent(backend, sms_gateway, status):
    sms_gateway.answer(Reply(status, {"error": "invalid number"}))

    result = send(backend)

    assert result.outcome == PERMANENT
    assert f"HTTP {status}" in result.detail


def test_a_gateway_slower_than_the_timeout_is_temporary(backend, sms_gateway, settings):
    settings.SMS_GATEWAY_TIMEOUT = 0.3
    sms_gateway.answer(Reply(delay=1.5))

    result = send(backend)

    assert result.outcome == TEMPORARY
    assert "timed out" in result.detail


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Service Unavailable</html>",
        b"",
        b"[]",
        b'"ok"',
        {"status": "queued"},
        {"message_id": None},
        {"message_id": ""},
        {"message_id": "   "},
    ],
    ids=["html", "empty", "list", "string", "no-id", "null-id", "empty-id", "blank-id"],
)
def test_a_2xx_without_a_usable_message_id_is_temporary(backend, sms_gateway, body):
    sms_gateway.answer(Reply(200, body))

    result = send(backend)

    assert result.outcome == TEMPORARY
    assert result.reference == ""


def test_a_connection_closed_without_an_answer_is_temporary(backend, sms_gateway):
    sms_gateway.answer(Reply(hang_up=True))

    assert send(backend).outcome == TEMPORARY


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"message_id": ',
    ],
    ids=["bad-status-line", "truncated-body"],
)
def test_a_garbled_http_answer_is_temporary_not_an_exception(backend, sms_gateway, raw):
    sms_gateway.answer(Reply(raw=raw))

    result = send(backend)

    assert result.outcome == TEMPORARY


def test_a_gateway_that_is_down_is_temporary(backend, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{port}/v1/messages"

    result = send(backend)

    assert result.outcome == TEMPORARY
    assert "unreachable" in result.detail
