"""Never a 500, whatever a form receives (TRUST.md, "Offline tools": hypothesis).

Every form of the portal (citizen, kiosk, counter, two-factor, privacy, the
admin's add and change forms and its own action views) receives dictionaries
drawn by hypothesis: the valid value, any text (unicode, NUL bytes, markup),
huge strings, numbers and words of the wrong type, lists where one value is
expected, missing fields and unknown extra fields. Each answer is below 500;
and when the form comes back with its errors, each text field shown again
holds what was typed into it, so nobody types it twice. Explicit examples
always try a NUL byte in every field and the inputs that once were 500s.

Each example runs in a savepoint that is rolled back and starts with an empty
cache, so examples do not see each other's rows or spend each other's rate
limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser

import pytest
from django import forms
from django.contrib.admin.helpers import AdminForm
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts import services as account_services
from applications import services as application_services
from applications.models import Application, Person, Service
from applications.workflow import Status
from offices.models import Counter
from payments import services as payment_services
from queueing import counters
from queueing.views.public import KIOSK_COOKIE, kiosk_cookie_value
from tests.applications.conftest import (  # noqa: F401 (autouse fixture)
    _private_files,
    advance,
    complete_draft,
    png_bytes,
)
from tests.factories import PASSWORD, HolidayFactory, StaffFactory, UserFactory, registration_data
from tests.queueing.conftest import book, first_slot, paid_for
from tests.utils import login_unverified

pytestmark = pytest.mark.django_db


# --- What hypothesis sends -------------------------------------------------------------

any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=120)
nasty = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "<script>alert(1)</script>",
        "\"'><img src=x onerror=alert(1)>",
        "' OR 1=1 --",
        "%s%n%x",
        "{{ 7*7 }}{% debug %}",
        "../../../etc/passwd",
        "\u202egnp.exe",
        "１８０２０１５２０５９０００１",
        "٣٢٠١",
        "-1",
        "0",
        "2147483648",
        "9" * 40,
        "1e309",
        "NaN",
        "-0.0",
        "[]",
        "{}",
        "null",
        "true",
        "2030-02-31",
        "0000-00-00",
        "31/12/9999",
    ]
)
huge = st.builds(lambda n, c: c * n, st.integers(5_000, 30_000), st.sampled_from("xé9<\x00 "))
junk_key = st.from_regex(r"[a-z_][a-z0-9_\-\[\]]{0,15}", fullmatch=True)


def value_for(valid, name: str = ""):
    """Valid value, any text, nasty strings, huge strings, lists, or missing (None)."""
    if name.endswith("_FORMS"):
        # An inline's form count: Django caps it (absolute_max, 2000 forms), but rendering
        # thousands of inline forms would make each such example take seconds.
        return st.one_of(st.just(valid), st.sampled_from(["", "-1", "x", "0", "4", "a\x00"]))
    base = [any_text, nasty, huge, st.lists(any_text, min_size=2, max_size=3), st.none()]
    if valid is not None:
        base.insert(0, st.just(valid))
    return st.one_of(*base)


def posted(fields: dict, fixed: dict | None = None) -> st.SearchStrategy[dict]:
    """Dictionaries over `fields` (each valid, odd or missing) plus `fixed` as they are."""
    known = st.fixed_dictionaries({name: value_for(v, name) for name, v in fields.items()})
    extra = st.dictionaries(junk_key, st.one_of(any_text, nasty), max_size=2)
    return st.builds(
        lambda k, e: {**e, **(fixed or {}), **{n: v for n, v in k.items() if v is not None}},
        known,
        extra,
    )


def fuzzed_and_fixed(fields: dict) -> tuple[dict, dict]:
    """An admin page's fields: its own and its first inline row are varied, later inline
    rows are sent as shown (big pages would otherwise make every example slow)."""
    fuzzed, fixed = {}, {}
    for name, value in fields.items():
        parts = name.split("-")
        later_row = len(parts) >= 3 and parts[-2] != "0" and not name.endswith("_FORMS")
        (fixed if later_row else fuzzed)[name] = value
    return fuzzed, fixed


# --- The portal's data ------------------------------------------------------------------


class World:
    """What the forms work on, made only when a target asks for it."""

    def __init__(self, fixture: Callable[[str], object]):
        self.fixture = fixture

    @cached_property
    def office(self):
        return self.fixture("office_a")

    @cached_property
    def ani(self):
        return self.fixture("ani")

    @cached_property
    def budi(self):
        return self.fixture("budi")

    @cached_property
    def dewi(self):
        return self.fixture("dewi")

    @cached_property
    def superuser(self):
        self.office  # noqa: B018 (the admin's pages list the office)
        return StaffFactory(
            is_superuser=True, email="admin.pusat@example.id", full_name="Admin Pusat"
        )

    @cached_property
    def enrolled(self):
        """A citizen who turned two-step verification on."""
        user = UserFactory(email="dua.langkah@example.id")
        TOTPDevice.objects.create(user=user, name="ponsel", confirmed=True)
        return user

    @cached_property
    def passport(self) -> Service:
        return Service.objects.get(code="paspor-elektronik-baru")

    @cached_property
    def child(self) -> Person:
        return application_services.person_save(
            owner=self.ani,
            data={
                "relationship": Person.Relationship.CHILD,
                "full_name": "Bima Lestari",
                "nik": "1802011203150002",
                "date_of_birth": "2015-03-12",
                "place_of_birth": "Gunung Sugih",
                "sex": "L",
                "address": "Jl. Merdeka No. 10",
                "father_name": "Rudi Hartono",
                "mother_name": "Ani Lestari",
            },
        )

    @cached_property
    def child_draft(self) -> Application:
        """A draft for ani's son: every field of step 1 can be typed; all steps open."""
        application = application_services.application_start(
            user=self.ani,
            service=Service.objects.get(code="paspor-biasa-baru"),
            office=self.office,
            person=self.child,
        )
        Application.objects.filter(pk=application.pk).update(step_reached=4)
        application.refresh_from_db()
        return application

    @cached_property
    def submitted(self) -> Application:
        return advance(complete_draft(self.ani, self.office, self.passport), Status.SUBMITTED)

    @cached_property
    def bill(self):
        return payment_services.bill_issue(application_id=self.submitted.pk)

    @cached_property
    def paid(self) -> Application:
        return paid_for(self.ani, self.office)

    @cached_property
    def booking(self):
        return book(paid_for(self.ani, self.office))

    @cached_property
    def interview(self):
        """A free interview slot on the office's next working day."""
        return first_slot(self.office)

    @cached_property
    def consultation(self):
        from queueing.models import Purpose

        return first_slot(self.office, purpose=Purpose.CONSULTATION)

    @cached_property
    def approved(self) -> Application:
        service = Service.objects.get(code="paspor-penggantian-habis")
        return advance(complete_draft(self.ani, self.office, service), Status.APPROVED)

    @cached_property
    def counter(self) -> Counter:
        counter = Counter.objects.create(office=self.office, number=1, name="Loket 1")
        counters.shift_open(counter=counter, officer=self.budi, prefixes=["A", "W"])
        return counter

    @cached_property
    def holiday(self):
        return HolidayFactory(name="Hari Raya Contoh", office=self.office)

    @cached_property
    def phone_code_pending(self):
        return account_services.phone_verification_start(user=self.ani)

    def first(self, model):
        return model._default_manager.order_by("pk").first()


# --- The forms --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One form: who posts it where, and a valid value for each of its fields."""

    who: str
    url: Callable[[World], str]
    # A valid value per field: a string, a list, or a function of the world giving one.
    fields: dict = field(default_factory=dict)
    files: tuple[str, ...] = ()
    # Rows made before the examples (the URL's own rows are made by `url`).
    needs: tuple[str, ...] = ()
    # A URL that must be made afresh in each example's session (the reset link's form).
    per_example_url: Callable[[World, Client], str] | None = None
    # Inputs always tried (over the valid values), besides a NUL byte in every field.
    examples: tuple[dict, ...] = ()
    # The admin's own forms: the valid values are read from the form on the page (GET).
    fields_from_page: bool = False

    def prepare(self, world: World) -> tuple[str, dict]:
        """Make the rows (outside any example's savepoint); the URL and valid values."""
        for name in (*self.needs, *([] if self.who in ("anon", "kiosk") else [self.who])):
            getattr(world, name)
        url = self.url(world)
        values = {k: v(world) if callable(v) else v for k, v in self.fields.items()}
        return url, values


def _reset_link(world: World, client: Client) -> str:
    uid = urlsafe_base64_encode(force_bytes(world.ani.pk))
    token = default_token_generator.make_token(world.ani)
    response = client.get(reverse("accounts:password_reset_confirm", args=[uid, token]))
    assert response.status_code == 302, response.status_code
    return response["Location"]


def _step(number: int):
    return lambda w: reverse("applications:step", args=[w.child_draft.reference, number])


def _admin(model: str, action: str):
    """`admin:<app>_<model>_<action>`, for the first row when the action needs one."""
    app_label, model_name = model.split(".")

    def url(world: World) -> str:
        from django.apps import apps

        name = f"admin:{app_label}_{model_name}_{action}"
        if action == "add":
            return reverse(name)
        return reverse(name, args=[world.first(apps.get_model(app_label, model_name)).pk])

    return url


APPLICANT = {
    "full_name": "Bima Lestari",
    "nik": "1802011203150002",
    "date_of_birth": "2015-03-12",
    "place_of_birth": "Gunung Sugih",
    "sex": "L",
    "address": "Jl. Merdeka No. 10",
    "father_name": "Rudi Hartono",
    "mother_name": "Ani Lestari",
}

TARGETS = {
    # Anyone
    "register": Target("anon", lambda w: reverse("accounts:register"), registration_data()),
    "login": Target(
        "anon",
        lambda w: reverse("accounts:login"),
        {"username": "ani@example.id", "password": PASSWORD},
        needs=("ani",),
    ),
    "password-reset": Target(
        "anon",
        lambda w: reverse("accounts:password_reset"),
        {"email": "ani@example.id"},
        needs=("ani",),
    ),
    "password-reset-confirm": Target(
        "anon",
        lambda w: "",
        {"new_password1": "Teh-Manis-Sore-77", "new_password2": "Teh-Manis-Sore-77"},
        needs=("ani",),
        per_example_url=_reset_link,
    ),
    "resend-verification": Target(
        "anon", lambda w: reverse("accounts:resend_verification"), {"email": "ani@example.id"}
    ),
    "status-check": Target(
        "anon",
        lambda w: reverse("status_check"),
        {"reference": lambda w: w.submitted.reference, "date_of_birth": "1990-05-12"},
    ),
    "language": Target("anon", lambda w: reverse("set_language"), {"language": "en", "next": "/"}),
    "kiosk-check-in": Target(
        "kiosk",
        lambda w: reverse("queueing:kiosk_check_in", args=[w.office.code]),
        {"code": lambda w: w.booking.code, "priority": ""},
    ),
    "kiosk-walk-in": Target(
        "kiosk",
        lambda w: reverse("queueing:kiosk_walk_in", args=[w.office.code]),
        {"prefix": "W", "priority": ""},
    ),
    # The citizen's account
    "profile": Target(
        "ani",
        lambda w: reverse("accounts:profile"),
        {
            "phone": "0812 3456 7890",
            "address": "Jl. Merdeka No. 10",
            "preferred_language": "id",
            "password": PASSWORD,
        },
    ),
    "email-change": Target(
        "ani",
        lambda w: reverse("accounts:email_change"),
        {"new_email": "ani.baru@example.id", "password": PASSWORD},
    ),
    "phone-code": Target(
        "ani",
        lambda w: reverse("accounts:phone_verify"),
        {"code": "123456"},
        needs=("phone_code_pending",),
    ),
    "phone-code-send": Target("ani", lambda w: reverse("accounts:phone_code_send")),
    "password-change": Target(
        "ani",
        lambda w: reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Teh-Manis-Sore-77",
            "new_password2": "Teh-Manis-Sore-77",
        },
    ),
    "reauth": Target(
        "ani",
        lambda w: reverse("accounts:reauth"),
        {"password": PASSWORD, "next": "/akun/"},
        examples=({"next": "0"}, {"next": "profile"}),
    ),
    "two-factor-setup": Target(
        "ani", lambda w: reverse("accounts:two_factor_setup"), {"token": "123456"}
    ),
    "two-factor-verify": Target(
        "enrolled", lambda w: reverse("accounts:two_factor_verify"), {"token": "123456"}
    ),
    "my-data": Target(
        "ani", lambda w: reverse("accounts:my_data"), {"password": PASSWORD, "format": "json"}
    ),
    "delete-account": Target(
        "ani",
        lambda w: reverse("accounts:delete_account"),
        {"password": PASSWORD, "confirm": "on"},
    ),
    "notification-preferences": Target(
        "ani",
        lambda w: reverse("notifications:preferences"),
        {"email_status": "on", "sms_status": "on", "email_reminders": "on", "sms_reminders": ""},
    ),
    # Applying
    "start": Target(
        "ani",
        lambda w: reverse("applications:start", args=["paspor-elektronik-baru"]),
        {"person": "self", "office": lambda w: str(w.office.pk)},
    ),
    "step-1": Target("ani", _step(1), APPLICANT),
    "step-2": Target(
        "ani", _step(2), {"travel_purpose": "tourism", "destination": "Malaysia", "save_exit": ""}
    ),
    "step-3": Target("ani", _step(3), {"save_exit": ""}),
    "step-4": Target("ani", _step(4), {"declaration": "on"}),
    "upload": Target(
        "ani",
        lambda w: reverse(
            "applications:upload",
            args=[w.child_draft.reference, w.child_draft.service.requirements.first().pk],
        ),
        files=("file",),
    ),
    "family-add": Target(
        "ani", lambda w: reverse("applications:family_add"), {**APPLICANT, "relationship": "child"}
    ),
    "family-edit": Target(
        "ani",
        lambda w: reverse("applications:family_edit", args=[w.child.pk]),
        {**APPLICANT, "relationship": "child"},
    ),
    "delivery": Target(
        "ani",
        lambda w: reverse("applications:delivery", args=[w.approved.reference]),
        {"delivery_method": "post", "delivery_address": "Jl. Merdeka No. 10"},
    ),
    "cancel": Target("ani", lambda w: reverse("applications:cancel", args=[w.submitted.reference])),
    # Paying and booking
    "sandbox-bank": Target(
        "ani",
        lambda w: reverse("payments:sandbox", args=[w.bill.code, "va_bri"]),
        {"outcome": "fail"},
    ),
    "book-interview": Target(
        "ani",
        lambda w: reverse("queueing:book", args=[w.paid.reference]),
        {"day": lambda w: w.interview.day.isoformat(), "slot": lambda w: str(w.interview.pk)},
    ),
    "consultation": Target(
        "ani",
        lambda w: reverse("queueing:consultation") + "?office=LTG",
        {
            "office": "LTG",
            "day": lambda w: w.consultation.day.isoformat(),
            "slot": lambda w: str(w.consultation.pk),
            "topic": "passport",
            "question": "Berapa lama?",
        },
    ),
    "reschedule": Target(
        "ani",
        lambda w: reverse("queueing:reschedule", args=[w.booking.code]),
        {"day": lambda w: w.interview.day.isoformat(), "slot": lambda w: str(w.interview.pk)},
    ),
    "waitlist-join": Target(
        "ani",
        lambda w: reverse("queueing:waitlist_join"),
        {
            "day": lambda w: w.interview.day.isoformat(),
            "topic": "",
            "reference": lambda w: w.paid.reference,
            "office": "LTG",
        },
        examples=({"reference": "a\x00b"}, {"reference": "", "office": "a\x00b"}),
    ),
    # Officers
    "counter-open": Target(
        "budi",
        lambda w: reverse("queueing:counter_action", args=[w.counter.pk, "open"]),
        {"prefixes": ["A", "W"]},
    ),
    "counter-check-in": Target(
        "budi",
        lambda w: reverse("queueing:counter_action", args=[w.counter.pk, "check-in"]),
        {"code": lambda w: w.booking.code, "priority": ""},
    ),
    "counter-walk-in": Target(
        "budi",
        lambda w: reverse("queueing:counter_action", args=[w.counter.pk, "walk-in"]),
        {"prefix": "W", "priority": "elderly"},
    ),
    "counter-finish": Target(
        "budi",
        lambda w: reverse("queueing:counter_action", args=[w.counter.pk, "finish"]),
        {"ticket": "1"},
    ),
    "kiosk-enable": Target(
        "budi",
        lambda w: reverse("queueing:kiosk_enable", args=[w.office.code]),
        {"revoke": "", "disable": ""},
    ),
    "admin-move": Target(
        "budi",
        lambda w: reverse("admin:applications_application_move", args=[w.submitted.pk]),
        {
            "to": "revision_requested",
            "note": "Foto buram",
            "documents": lambda w: [str(d.pk) for d in w.submitted.documents.all()],
        },
        examples=(
            {"note": "a\x00b"},
            {"to": "rejected", "note": "a\x00b"},
            {"documents": "x"},
            {"documents": ["²", "9" * 5000, "9" * 30]},
        ),
    ),
    "admin-document-review": Target(
        "budi",
        lambda w: reverse(
            "admin:applications_application_document_review",
            args=[w.submitted.pk, w.submitted.documents.first().pk],
        ),
        {"decision": "reject", "reason": "Foto buram"},
        examples=({"reason": "a\x00b"},),
    ),
    "admin-tracking": Target(
        "budi",
        lambda w: reverse("admin:applications_application_tracking", args=[w.approved.pk]),
        {"courier": "POS", "tracking_number": "P2401010001"},
        examples=({"courier": "a\x00b"}, {"tracking_number": "a\x00b"}),
    ),
    "admin-identity": Target(
        "dewi",
        lambda w: reverse("admin:applications_application_identity", args=[w.submitted.pk]),
    ),
    "admin-payment-record": Target(
        "dewi",
        lambda w: reverse("admin:payments_bill_record", args=[w.bill.pk]),
        {
            "method": "teller",
            "ntpn": "ABCD1234EFGH5678",
            "paid_at": "2026-01-05T10:00",
            "reason": "Bayar di teller",
        },
        files=("proof",),
    ),
    "admin-bill-review": Target(
        "dewi",
        lambda w: reverse("admin:payments_bill_review", args=[w.bill.pk]),
        {"note": "Sudah dicek"},
    ),
    # The admin's add and change forms of the main models, as a superuser
    **{
        f"admin-{model}-{action}": Target(
            "superuser", _admin(model, action), needs=needs, fields_from_page=True
        )
        for model, actions, needs in [
            ("offices.office", ("add", "change"), ("office",)),
            ("offices.counter", ("add", "change"), ("counter",)),
            ("offices.holiday", ("add", "change"), ("holiday",)),
            ("offices.staffmembership", ("add",), ("budi",)),
            ("applications.service", ("change",), ()),
            ("applications.tariff", ("add", "change"), ()),
            ("accounts.user", ("add", "change"), ("ani",)),
            ("queueing.quota", ("change",), ("office",)),
            ("queueing.slot", ("change",), ("interview",)),
        ]
        for action in actions
    },
}


# --- Reading the admin's form ---------------------------------------------------------


class FormFields(HTMLParser):
    """The name → value pairs a browser would submit from the form with `form_id`."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.values = form_id, False, {}
        self._textarea = self._select = None

    def _add(self, name, value):
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or (tag != "option" and not a.get("name")):
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._add(a["name"], a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            self._add(self._textarea, self._text.removeprefix("\n"))
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def fields_on_page(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    opts = response.context["opts"]
    reader = FormFields(f"{opts.model_name}_form")
    reader.feed(response.content.decode())
    values = {k: v[0] if len(v) == 1 else v for k, v in reader.values.items()}
    values.pop("csrfmiddlewaretoken", None)
    assert values, f"no form fields read from {url}"
    return values


# --- Logging in as -----------------------------------------------------------------------


def log_in(client: Client, who: str, world: World) -> None:
    if who == "anon":
        return
    if who == "kiosk":
        client.cookies[KIOSK_COOKIE] = kiosk_cookie_value(world.office)
    elif who == "enrolled":
        login_unverified(client, world.enrolled)
    else:
        client.force_login(getattr(world, who))  # staff: also verified by a device


# --- Checking an answer -----------------------------------------------------------------

TEXT_INPUTS = {"text", "email", "tel", "search", "url"}


def forms_in(response) -> list[forms.BaseForm]:
    found = []
    contexts = response.context
    if contexts is None:
        return found
    if not isinstance(contexts, list):
        contexts = [contexts]

    def visit(value, depth=0):
        if isinstance(value, AdminForm):
            value = value.form
        if isinstance(value, forms.BaseForm):
            if all(value is not f for f in found):
                found.append(value)
        elif isinstance(value, list | tuple) and depth < 2:
            for item in value:
                visit(item, depth + 1)
        elif isinstance(value, dict) and depth < 2:
            for item in value.values():
                visit(item, depth + 1)

    for context in contexts:
        for layer in getattr(context, "dicts", [context]):
            if isinstance(layer, dict):
                for value in layer.values():
                    visit(value)
    return found


class ShownValues(HTMLParser):
    """name → values of the page's inputs and textareas of that name, as a browser reads them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            self.values.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "textarea" and "name" in a:
            self._textarea = a["name"]
            self.values.setdefault(self._textarea, []).append("")

    def handle_data(self, data):
        if self._textarea is not None:
            self.values[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            # Browsers (and Django's widget) drop one newline right after <textarea>.
            value = self.values[self._textarea][-1]
            self.values[self._textarea][-1] = value.removeprefix("\r\n").removeprefix("\n")
            self._textarea = None


def typing_lost(response, sent: dict) -> list[str]:
    """Text typed into a form that came back with errors, but not in its field again.

    Only forms shown again are checked: a page that answers with something
    else (the kiosk is closed, the account is locked) has no field to refill.
    """
    if response.status_code not in (200, 400):
        return []
    shown = None
    lost = []
    for form in forms_in(response):
        if not form.is_bound or form.data is not response.wsgi_request.POST or not form.errors:
            continue
        for bound in form:
            widget, typed = bound.field.widget, sent.get(bound.html_name)
            text_like = isinstance(widget, forms.Textarea) or (
                getattr(widget, "input_type", None) in TEXT_INPUTS
            )
            if bound.field.disabled or widget.is_hidden or not text_like:
                continue
            if not isinstance(typed, str) or not typed.strip():
                continue
            if shown is None:
                reader = ShownValues()
                reader.feed(response.content.decode())
                reader.close()
                shown = reader.values
            if bound.html_name in shown and typed not in shown[bound.html_name]:
                lost.append(f"{bound.html_name}={typed[:60]!r}")
    return lost


# --- The property ------------------------------------------------------------------------


def uploads() -> st.SearchStrategy:
    content = st.one_of(
        st.binary(max_size=2000),
        st.just(png_bytes()),
        st.just(b"%PDF-1.7\n/JavaScript (app.alert(1))\n"),
        st.just(b"MZ\x90\x00" * 10),
    )
    name = st.one_of(st.sampled_from(["ktp.png", "../../x.jpg", "a.jpg.php", "x" * 300]), any_text)
    return st.builds(
        lambda data, named: SimpleUploadedFile(named or "x", data, "image/png"), content, name
    )


def upload_prefix(name: str, world: World) -> str:
    if name != "upload":
        return ""
    return f"doc{world.child_draft.service.requirements.first().pk}-"


# Known 500s not yet fixed, by target name (each an xfail that must keep failing).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN[n])) if n in KNOWN else n
        for n in TARGETS
    ],
)
def test_no_form_answers_500_and_errors_keep_the_typing(name, request):
    target = TARGETS[name]
    world = World(request.getfixturevalue)
    url, fields = target.prepare(world)
    if target.fields_from_page:
        browser = Client()
        log_in(browser, target.who, world)
        fields = fields_on_page(browser, url)
    files = st.fixed_dictionaries(
        {f: st.one_of(uploads(), any_text, st.none()) for f in target.files}
    )
    prefix = upload_prefix(name, world)

    # Logged in once: the session row outlives each example's rollback (the cache, cleared
    # before every example, falls back to it); a session an example rotated is put back.
    client = Client()
    log_in(client, target.who, world)
    cookies = client.cookies
    with_session = {k: morsel.value for k, morsel in cookies.items()}

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(data=posted(*fuzzed_and_fixed(fields)), attached=files)
    def post_anything(data, attached):
        cache.clear()  # rate limits and cached sessions of earlier examples
        client.cookies = type(cookies)(with_session)
        data = {**data, **{prefix + k: v for k, v in attached.items() if v is not None}}
        with transaction.atomic():
            where = target.per_example_url(world, client) if target.per_example_url else url
            response = client.post(where, data)
            assert response.status_code < 500, (name, response.status_code)
            assert typing_lost(response, data) == [], (name, response.status_code)
            transaction.set_rollback(True)
        answered.append(response.get("Location", "").startswith(login))

    for values in ({name: "a\x00b" for name in fields}, *target.examples):
        post_anything = example(data={**fields, **values}, attached={})(post_anything)
    login, answered = reverse("accounts:login"), []
    post_anything()

    # Not vacuous: the examples reached the form, not the login page of a lost session.
    assert target.who == "anon" or not all(answered), f"{name}: every example sent to login"


def test_the_typing_check_notices_a_form_that_drops_what_was_typed(client, ani):
    """The checker itself: a re-rendered form that lost a typed value is reported."""
    client.force_login(ani)
    sent = {"new_email": "not-an-address", "password": "x"}
    response = client.post(reverse("accounts:email_change"), sent)
    assert response.status_code == 200
    assert typing_lost(response, sent) == []

    response.content = response.content.replace(b"not-an-address", b"")

    assert typing_lost(response, sent) == ["new_email='not-an-address'"]


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_target_takes_its_valid_values(name, request):
    """Not vacuous: with the valid values the form is reached and accepts or answers
    like a form (never 403/404/405 for being posted to the wrong place)."""
    target = TARGETS[name]
    world = World(request.getfixturevalue)
    url, data = target.prepare(world)
    client = Client()
    log_in(client, target.who, world)
    if target.fields_from_page:
        data = fields_on_page(client, url)
    if target.per_example_url:
        url = target.per_example_url(world, client)
    if target.files:
        data[upload_prefix(name, world) + target.files[0]] = SimpleUploadedFile(
            "k.png", png_bytes(), "image/png"
        )

    response = client.post(url, data)

    assert response.status_code not in (403, 404, 405), response.status_code
    assert response.status_code < 500


@pytest.mark.parametrize(
    "url",
    [
        lambda w: reverse("applications:detail", args=["PSP\x00"]),
        lambda w: reverse("applications:step", args=[w.child_draft.reference + "\x00", 1]),
        lambda w: reverse("payments:pay", args=["\x00"]),
        lambda w: reverse("payments:receipt", args=["\x00"]),
        lambda w: reverse("payments:sandbox", args=["\x00", "va_bri"]),
        lambda w: reverse("queueing:booking", args=["\x00"]),
        lambda w: reverse("queueing:ticket", args=["\x00"]),
        lambda w: reverse("queueing:kiosk", args=["\x00"]),
        lambda w: reverse("verify", args=["\x00"]),
        lambda w: reverse("accounts:verify_email", args=["\x00"]),
    ],
    ids=[
        "detail",
        "step",
        "pay",
        "payment-receipt",
        "sandbox",
        "booking",
        "ticket",
        "kiosk",
        "document-check",
        "email-link",
    ],
)
def test_a_nul_byte_in_a_url_is_not_found_not_a_500(url, request):
    world = World(request.getfixturevalue)
    path = url(world)
    client = Client(raise_request_exception=False)
    client.force_login(world.ani)

    assert client.get(path).status_code == 404
    assert client.post(path, {"x": "1"}).status_code in (403, 404, 405)


def test_a_verified_officer_sent_to_a_relative_next_is_not_a_500(budi):
    """Found by the property above: a bare word as `next` was taken for a URL name."""
    client = Client(raise_request_exception=False)
    client.force_login(budi)  # verified by a device

    response = client.get(reverse("accounts:two_factor_verify"), {"next": "0"})

    assert response.status_code < 500


def test_a_new_tariff_with_an_end_date_but_no_start_date_is_a_form_error_not_a_500(request):
    """Found by the property above: Tariff.clean() compared the end date with a missing start."""
    world = World(request.getfixturevalue)
    client = Client()
    client.force_login(world.superuser)
    service = Service.objects.get(code="paspor-elektronik-baru")
    url = reverse("admin:applications_service_change", args=[service.pk])
    data = fields_on_page(client, url)
    row = int(data["tariffs-TOTAL_FORMS"])
    for key, value in list(data.items()):
        if key.startswith("tariffs-__prefix__-"):
            data[key.replace("__prefix__", str(row))] = value
    data["tariffs-TOTAL_FORMS"] = str(row + 1)
    data.update(
        {
            f"tariffs-{row}-label_id": "Tarif baru",
            f"tariffs-{row}-label_en": "New fee",
            f"tariffs-{row}-amount": "700000",
            f"tariffs-{row}-valid_from": "",
            f"tariffs-{row}-valid_to": "31-12-2030",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert typing_lost(response, data) == []
    assert 'value="Tarif baru"' in response.content.decode()
