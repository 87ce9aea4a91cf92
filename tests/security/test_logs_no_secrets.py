"""No NIK, password, token or key in any log line (TRUST.md, "Personal data at rest").

One citizen walks the whole happy path through real forms: registration,
the emailed verification link, the SMS code, login, an application with NIK
and passport number, an upload, the sandbox payment and its signed webhook,
an interview booking; an officer with two-factor reviews it in the admin, a
supervisor opens the full identity numbers, and the citizen resets the
password. Everything any logger emits meanwhile, at DEBUG, is kept and then
searched for each secret the run handled.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from applications.models import Application, Document, Service
from applications.workflow import Status
from notifications.sms import locmem
from payments.gateways import sandbox as sandbox_gateway
from payments.models import Bill, SandboxTransaction
from tests.applications.conftest import _private_files, png_bytes  # noqa: F401 (autouse fixture)
from tests.factories import PASSWORD, registration_data
from tests.queueing.conftest import first_slot
from tests.utils import committed, link_in

pytestmark = pytest.mark.django_db

NIK = "1802015205900001"
PASSPORT_NUMBER = "C7788991"
NEW_PASSWORD = "Teh-Manis-Sore-Hari-77"
WEBHOOK_SECRET = "log-test-sandbox-secret"
SERVICE = "paspor-penggantian-habis"  # asks for the old passport's number

# Emulates LOG_LEVEL=DEBUG (the root) with every logger that may see a request, a task,
# a login or a payment turned up to DEBUG as well, even those settings.LOGGING quietens.
# Other libraries keep their configured levels: "django" stays at INFO, as Django sets
# it (its DEBUG-only django.template lines dump whole template contexts).
DEBUG_LOGGERS = (
    "django.request",
    "django.security",
    "celery",
    "kombu",
    "axes",
    "django_otp",
    "imigrasi",
    "accounts",
    "applications",
    "audit",
    "notifications",
    "offices",
    "payments",
    "queueing",
)


class KeepEverything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def every_log_record():
    """Root and DEBUG_LOGGERS at DEBUG, a handler on the root keeping each record."""
    handler = KeepEverything()
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in DEBUG_LOGGERS]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    saved_root = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        logger.disabled = False
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for logger, level, propagate, disabled in saved:
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def rendered(record: logging.LogRecord) -> str:
    """All a log line can carry: the formatted message, its raw args, the traceback."""
    parts = [record.getMessage(), repr(record.args), str(record.msg)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, f"no 6-digit code in {text!r}"
    return match.group(1)


def current_totp(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


class Run:
    """The secrets handled during the run, as the test meets them."""

    def __init__(self):
        self.secrets: dict[str, set[str]] = {}
        self.codes: dict[str, set[str]] = {}  # short digit codes: matched as whole numbers

    def secret(self, kind: str, value: str) -> str:
        assert value, f"empty {kind}"
        self.secrets.setdefault(kind, set()).add(value)
        return value

    def code(self, kind: str, value: str) -> str:
        assert value.isdigit() and len(value) >= 6, value
        self.codes.setdefault(kind, set()).add(value)
        return value

    def session_of(self, client: Client) -> None:
        cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
        if cookie is not None and cookie.value:
            self.secret("session key", cookie.value)

    def leaks(self, records: list[logging.LogRecord]) -> list[str]:
        found = []
        for record in records:
            text = rendered(record)
            for kind, values in self.secrets.items():
                found += [f"{kind} in {record.name}: {text[:300]!r}" for v in values if v in text]
            for kind, values in self.codes.items():
                found += [
                    f"{kind} in {record.name}: {text[:300]!r}"
                    for v in values
                    if re.search(rf"(?<!\d){v}(?!\d)", text)
                ]
        return found


@pytest.fixture(autouse=True)
def _sandbox_and_outboxes(settings, tasks_inline):
    settings.PAYMENT_GATEWAY = "sandbox"
    settings.SANDBOX_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SANDBOX_WEBHOOK_URL = ""
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


def follow_ok(response, expected: str | None = None):
    assert response.status_code in (200, 302), (response.status_code, response.content[:500])
    if expected is not None:
        assert response.status_code == 302 and response["Location"].startswith(expected), (
            response.status_code,
            response.get("Location"),
        )
    return response


# --- The citizen's part ----------------------------------------------------------------


def citizen_registers_and_verifies(client: Client, run: Run) -> User:
    run.secret("NIK", NIK)
    run.secret("password", PASSWORD)
    with committed():
        follow_ok(
            client.post(reverse("accounts:register"), registration_data(nik=NIK)),
            reverse("accounts:register_done"),
        )
    link = link_in(mail.outbox[-1].body, "/akun/verifikasi/")
    run.secret("email verification token", link.rstrip("/").rsplit("/", 1)[1])
    with committed():
        follow_ok(client.get(link), reverse("accounts:login"))
    with committed():
        follow_ok(
            client.post(
                reverse("accounts:login"), {"username": "ani@example.id", "password": PASSWORD}
            ),
            reverse("accounts:profile"),
        )
    run.session_of(client)
    with committed():
        sent = client.post(reverse("accounts:phone_code_send"))
        follow_ok(sent, reverse("accounts:phone_verify"))
    code = run.code("SMS code", code_in(locmem.outbox[-1].text))
    with committed():
        follow_ok(
            client.post(reverse("accounts:phone_verify"), {"code": code}),
            reverse("accounts:profile"),
        )
    user = User.objects.get(email="ani@example.id")
    assert user.is_email_verified and user.phone_verified_at is not None
    return user


def citizen_applies(client: Client, run: Run, office) -> Application:
    run.secret("passport number", PASSPORT_NUMBER)
    service = Service.objects.get(code=SERVICE)
    with committed():
        follow_ok(
            client.post(
                reverse("applications:start", args=[service.code]),
                {"person": "self", "office": office.pk},
            )
        )
    application = Application.objects.get(applicant__email="ani@example.id")
    step = lambda n: reverse("applications:step", args=[application.reference, n])  # noqa: E731
    with committed():
        follow_ok(
            client.post(
                step(1),
                {
                    "place_of_birth": "Gunung Sugih",
                    "address": "Jl. Merdeka No. 10",
                    "father_name": "Slamet Riyadi",
                    "mother_name": "Sri Wahyuni",
                },
            ),
            step(2),
        )
        follow_ok(
            client.post(
                step(2),
                {
                    "passport_number": PASSPORT_NUMBER,
                    "travel_purpose": "tourism",
                    "destination": "Malaysia",
                },
            ),
            step(3),
        )
    for requirement in service.requirements.all():
        upload = SimpleUploadedFile(f"{requirement.code}.png", png_bytes(), "image/png")
        with committed():
            follow_ok(
                client.post(
                    reverse("applications:upload", args=[application.reference, requirement.pk]),
                    {f"doc{requirement.pk}-file": upload},
                ),
                step(3),
            )
    with committed():
        follow_ok(client.post(step(3), {}), step(4))
        follow_ok(client.post(step(4), {"declaration": "on"}), application.get_absolute_url())
    application.refresh_from_db()
    assert application.nik == NIK and application.passport_number == PASSPORT_NUMBER
    assert application.documents.count() == service.requirements.count()
    assert application.status == Status.AWAITING_PAYMENT
    return application


def citizen_pays(client: Client, run: Run, application: Application) -> Bill:
    run.secret("webhook secret", WEBHOOK_SECRET)
    bill = Bill.objects.get(application=application, status=Bill.Status.UNPAID)
    pay = reverse("payments:pay", args=[application.reference])
    assert client.get(pay, {"metode": "va_bri"}).status_code == 200
    page = reverse("payments:sandbox", args=[bill.code, "va_bri"])
    assert client.get(page).status_code == 200
    # The sandbox bank posts its webhook over HTTP after commit: here the test client does.
    with (
        mock.patch("payments.tasks.deliver_sandbox_notification.delay") as delivery,
        committed(),
    ):
        follow_ok(client.post(page, {"outcome": "pay"}), pay)
    (record_id,) = delivery.call_args.args
    body = sandbox_gateway.notification_body(SandboxTransaction.objects.get(pk=record_id))
    signature = sandbox_gateway.sign(body)
    run.secret("webhook signature", signature.split("v1=", 1)[1])
    with committed():
        answer = Client().post(
            reverse("payments:webhook", args=["sandbox"]),
            data=body,
            content_type="application/json",
            headers={sandbox_gateway.HEADER: signature},
        )
    assert answer.status_code == 200, answer.content
    bill.refresh_from_db()
    assert bill.status == Bill.Status.PAID
    return bill


def citizen_books(client: Client, application: Application, office) -> None:
    book = reverse("queueing:book", args=[application.reference])
    assert client.get(book).status_code == 200
    slot = first_slot(office)
    with committed():
        follow_ok(client.post(book, {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk}))
    application.refresh_from_db()
    assert application.status == Status.SCHEDULED


# --- Staff ----------------------------------------------------------------------------


def staff_logs_in_with_two_factor(client: Client, run: Run, user: User) -> None:
    device = TOTPDevice.objects.create(user=user, name="ponsel", confirmed=True)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    follow_ok(
        client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    )
    run.session_of(client)
    code = run.code("TOTP code", current_totp(device))
    follow_ok(
        client.post(reverse("accounts:two_factor_verify"), {"token": code}),
        reverse("admin:index"),
    )
    run.session_of(client)
    assert client.get(reverse("admin:index")).status_code == 200


def officer_reviews(client: Client, application: Application) -> None:
    change = reverse("admin:applications_application_change", args=[application.pk])
    assert client.get(reverse("admin:applications_application_changelist")).status_code == 200
    assert client.get(change).status_code == 200
    for document in application.documents.all():
        with committed():
            follow_ok(
                client.post(
                    reverse(
                        "admin:applications_application_document_review",
                        args=[application.pk, document.pk],
                    ),
                    {"decision": "accept"},
                ),
                change,
            )
    for to in (Status.INTERVIEWED, Status.APPROVED):
        with committed():
            follow_ok(
                client.post(
                    reverse("admin:applications_application_move", args=[application.pk]),
                    {"to": to, "note": ""},
                ),
                change,
            )
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert not application.documents.exclude(state=Document.State.ACCEPTED).exists()


def supervisor_views_identity(client: Client, application: Application) -> None:
    response = client.post(
        reverse("admin:applications_application_identity", args=[application.pk])
    )
    assert response.status_code == 200
    assert NIK in response.content.decode() and PASSPORT_NUMBER in response.content.decode()


def citizen_resets_password(run: Run) -> None:
    client = Client()
    run.secret("password", NEW_PASSWORD)
    with committed():
        follow_ok(
            client.post(reverse("accounts:password_reset"), {"email": "ani@example.id"}),
            reverse("accounts:password_reset_done"),
        )
    link = link_in(mail.outbox[-1].body, "/akun/lupa-sandi/")
    run.secret("password reset token", link.rstrip("/").rsplit("/", 1)[1])
    form = follow_ok(client.get(link))
    assert form.status_code == 302
    set_password = form["Location"]
    run.session_of(client)
    with committed():
        follow_ok(
            client.post(
                set_password, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
            ),
            reverse("accounts:password_reset_complete"),
        )
    fresh = Client()
    follow_ok(
        fresh.post(
            reverse("accounts:login"), {"username": "ani@example.id", "password": NEW_PASSWORD}
        ),
        reverse("accounts:profile"),
    )
    run.session_of(fresh)


def test_a_whole_happy_path_logs_no_nik_password_token_code_or_key(
    client, caplog, office_a, budi, dewi
):
    run = Run()
    for key in django_settings.PII_ENCRYPTION_KEYS:
        run.secret("PII key", key)
    run.secret("blind index key", django_settings.PII_BLIND_INDEX_KEY)
    run.secret("SECRET_KEY", django_settings.SECRET_KEY)
    caplog.set_level(logging.DEBUG)

    with every_log_record() as records:
        citizen_registers_and_verifies(client, run)
        application = citizen_applies(client, run, office_a)
        citizen_pays(client, run, application)
        citizen_books(client, application, office_a)
        officer = Client()
        staff_logs_in_with_two_factor(officer, run, budi)
        officer_reviews(officer, application)
        supervisor = Client()
        staff_logs_in_with_two_factor(supervisor, run, dewi)
        supervisor_views_identity(supervisor, application)
        citizen_resets_password(run)
        run.session_of(client)

    everything = records + [r for r in caplog.records if r not in records]
    # The capture itself works: the run's own log lines are there (no vacuous pass).
    messages = [r.getMessage() for r in everything]
    assert len(everything) >= 10, messages
    assert any("verification email queued" in m for m in messages), messages
    assert any("phone verification code queued" in m for m in messages), messages
    assert any("mobile number verified" in m for m in messages), messages
    assert run.secrets.keys() >= {
        "NIK",
        "passport number",
        "password",
        "email verification token",
        "password reset token",
        "session key",
        "webhook signature",
    }
    assert run.codes.keys() == {"SMS code", "TOTP code"}
    assert run.leaks(everything) == []
