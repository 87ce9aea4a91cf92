"""Two-step verification (TRUST.md, "Identity and sessions"; ASVS v5.0.0-6.3.3, 6.5, 7.5.1).

Staff reach no admin URL and no staff page before a device verified them
(every URL of the resolver is walked); citizens may enrol with an
authenticator app and backup codes; turning it off, setting it up and
changing email or phone need the password again; a password reset never
skips the second factor.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from applications.models import Application
from offices.models import Counter
from tests.factories import PASSWORD
from tests.utils import in_language, login_unverified, messages_of, page_text, verify_second_factor

from .conftest import current_code, enrol, password_login

pytestmark = pytest.mark.django_db

VERIFY = reverse("accounts:two_factor_verify")
SETUP = reverse("accounts:two_factor_setup")
SECURITY = reverse("accounts:security")
REAUTH = reverse("accounts:reauth")
DISABLE = reverse("accounts:two_factor_disable")
RENEW = reverse("accounts:backup_codes_renew")

# What a logged-in person may open before the second factor (written out here, not
# imported from accounts.middleware: a page added there must be added here on purpose).
OPEN_BEFORE_SECOND_FACTOR = {
    "accounts:two_factor_verify",
    "accounts:two_factor_setup",
    "accounts:reauth",
    "accounts:logout",
    "set_language",
    "healthz",
    "csp_report",
}
STAFF_PREFIX = "/petugas/"
WRONG_SETUP_CODE = (
    "That code is not right. Check that the phone's clock is correct, wait for a new code "
    "and type it."
)
WRONG_VERIFY_CODE = (
    "That code is not right or has been used. Wait for a new code, or use one of your backup codes."
)


# --- Every URL of the portal ----------------------------------------------------------

_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _walk(patterns, prefix="", namespace="", model=None):
    """(route, view name, model of its ModelAdmin) for every leaf pattern."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            space = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            inner = model
            for child in pattern.url_patterns:
                model_admin = getattr(getattr(child, "callback", None), "model_admin", None)
                if model_admin is not None:
                    inner = model_admin.model
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), space, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name or "", model


def _regex_route(route: str) -> list[str]:
    """Concrete paths for the admin's regular-expression routes (app index, catch-all)."""
    alternatives = re.search(r"\(\?P<app_label>([^)]*)\)", route)
    if alternatives:
        head = route[: alternatives.start()].replace("^", "")
        return [f"{head}{label}/" for label in alternatives.group(1).split("|")]
    if "(?P<url>" in route:
        return [route[: route.index("(?P<url>")].replace("^", "") + "tidak-ada/"]
    raise AssertionError(f"no concrete path for {route!r}")


def _object_id(model) -> str:
    found = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return str(found if found is not None else 1)


def concrete_paths(values: dict) -> list[tuple[str, str]]:
    """(path, view name) for every URL pattern, parameters filled from `values` (real
    objects where the fixtures made them) or from the model an admin URL belongs to."""
    paths = []
    for route, name, model in _walk(get_resolver().url_patterns):
        if "(?P<" in route or route.startswith("^") or "$" in route:
            candidates = _regex_route(route)
        else:

            def fill(match, model=model, name=name):
                key = match.group("name")
                if key == "object_id" and model is not None:
                    return _object_id(model)
                by_view = values.get(name, {})
                return str(by_view.get(key, values["*"].get(key, "1")))

            candidates = [_PARAMETER.sub(fill, route)]
        paths.extend(("/" + path.lstrip("/"), name) for path in candidates)
    return paths


@pytest.fixture
def every_path(application, document, bill, office_a, officer_a) -> list[tuple[str, str]]:
    counter = Counter.objects.create(office=office_a, number=1, name="Loket 1")
    values = {
        "*": {
            "reference": application.reference,
            "document_id": document.pk,
            "requirement_id": document.requirement_id,
            "number": 1,
            "code": bill.code,
            "method": "va_bri",
            "pk": counter.pk,
            "action": "call",
            "office_code": office_a.code,
            "token": "tanda",
            "uidb64": urlsafe_base64_encode(force_bytes(officer_a.pk)),
            "provider": "sandbox",
            "content_type_id": ContentType.objects.get_for_model(Application).pk,
            "object_id": application.pk,
            "person_id": 1,
        },
        "applications:service": {"code": application.service.code},
        "applications:start": {"code": application.service.code},
    }
    paths = concrete_paths(values)
    admin_paths = [p for p, _ in paths if p.startswith("/admin/")]
    staff_paths = [p for p, _ in paths if p.startswith(STAFF_PREFIX)]
    # The walk must have found the console and the officers' pages: an empty walk proves nothing.
    assert len(admin_paths) >= 150, admin_paths
    assert len(staff_paths) >= 5, staff_paths
    assert len({n for _, n in paths if n.startswith("admin:")}) >= 100
    return [(path, name) for path, name in paths if name not in OPEN_BEFORE_SECOND_FACTOR]


def _lands_on_verify(response, *, path: str, method: str) -> str | None:
    """Why the response is not the redirect to the second-factor page (None when it is)."""
    if response.status_code != 302:
        return f"{method} {path}: {response.status_code}"
    location = urlparse(response["Location"])
    if location.path != VERIFY:
        return f"{method} {path}: redirected to {response['Location']}"
    if method == "GET" and parse_qs(location.query).get("next") != [path]:
        return f"{method} {path}: next is {location.query!r}"
    return None


@pytest.mark.parametrize("who", ["officer with an app", "superuser with no device"])
def test_unverified_staff_reach_no_url_but_the_second_factor_pages(
    client, every_path, officer_a, superuser, who
):
    if who == "officer with an app":
        user = officer_a
        enrol(user)
    else:
        user = superuser
    login_unverified(client, user)

    refused = []
    for path, _name in every_path:
        for method in ("GET", "POST"):
            response = client.get(path) if method == "GET" else client.post(path, {})
            problem = _lands_on_verify(response, path=path, method=method)
            if problem:
                refused.append(problem)

    assert refused == []


def test_the_walk_covers_every_registered_admin_model(every_path):
    walked = {path for path, _ in every_path}

    for model in admin.site._registry:
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert changelist in walked, changelist


def test_staff_with_no_device_are_sent_to_set_one_up(client, officer_a):
    login_unverified(client, officer_a)

    response = client.get(reverse("admin:index"), follow=True)

    assert response.request["PATH_INFO"] == SETUP
    assert response.status_code == 200
    page = page_text(response)
    assert (
        in_language(
            "id",
            "Staff accounts must use two-step verification before opening the officers' pages.",
        )
        in page
    )
    assert 'src="data:image/png;base64,' in page


def test_an_htmx_request_from_unverified_staff_is_told_to_navigate_to_the_code_page(
    client, officer_a
):
    enrol(officer_a)
    login_unverified(client, officer_a)

    response = client.get(reverse("queueing:counters"), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == VERIFY
    assert "Loket" not in page_text(response)


def test_the_admin_itself_refuses_unverified_staff_without_the_middleware(
    client, settings, every_path, superuser
):
    """Defence in depth: the console (OTPAdminSite) checks the device on its own."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "accounts.middleware.SecondFactorMiddleware"
    ]
    login_unverified(client, superuser)
    admin_login = reverse("admin:login")
    # The admin's logout sends a GET back to the index (which then asks for the login).
    harmless = {(reverse("admin:logout"), reverse("admin:index"))}

    leaks = []
    for path, _name in every_path:
        if not path.startswith("/admin/"):
            continue
        response = client.get(path)
        target = urlparse(response.get("Location", "")).path
        if response.status_code == 200 or (
            response.status_code == 302
            and target not in (admin_login, VERIFY)
            and (path, target) not in harmless
        ):
            leaks.append(f"{path}: {response.status_code} {target}")

    assert leaks == []
    assert urlparse(client.get(admin_login)["Location"]).path == VERIFY


def test_staff_pages_refuse_unverified_officers_without_the_middleware(client, settings, officer_a):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "accounts.middleware.SecondFactorMiddleware"
    ]
    enrol(officer_a)
    login_unverified(client, officer_a)

    response = client.get(reverse("queueing:counters"))

    assert response.status_code != 200


def test_a_verified_officer_reaches_the_console_and_the_counters(client, officer_a):
    device, _codes = enrol(officer_a)
    login_unverified(client, officer_a)

    response = client.post(
        f"{VERIFY}?next={reverse('queueing:counters')}", {"token": current_code(device)}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("queueing:counters")
    assert client.get(reverse("queueing:counters")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_verify_page_does_not_follow_a_next_address_on_another_site(client, officer_a):
    device, _codes = enrol(officer_a)
    login_unverified(client, officer_a)

    response = client.post(
        f"{VERIFY}?next=https://phish.example/admin/", {"token": current_code(device)}
    )

    assert response["Location"] == reverse("admin:index")


# --- Enrolment (citizens may turn it on) -------------------------------------------------


def _setup_page(client):
    response = client.get(SETUP)
    assert response.status_code == 200
    return response, TOTPDevice.objects.get(confirmed=False)


def test_the_setup_page_shows_a_qr_code_and_the_key_of_a_new_unconfirmed_app(client, citizen):
    client.force_login(citizen)

    response, device = _setup_page(client)

    page = page_text(response)
    qr = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert qr, "no QR code image"
    assert base64.b64decode(qr.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    shown = re.search(r"<code[^>]*>([A-Z2-7 ]+)</code>", page).group(1)
    assert shown.replace(" ", "") == key
    assert "issuer=Imigrasi" in device.config_url
    assert "no-store" in response["Cache-Control"]
    assert device.user == citizen and not device.confirmed


def test_a_citizen_turns_it_on_with_the_code_from_the_app(client, citizen):
    client.force_login(citizen)
    _, device = _setup_page(client)

    response = client.post(SETUP, {"token": current_code(device)})

    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert in_language("id", "Two-step verification is on.") in messages_of(response)
    codes = re.findall(r"<li>([a-z0-9]{8,})</li>", response.content.decode())
    assert len(codes) == 10
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=citizen).values_list("token", flat=True)
    )
    assert "no-store" in response["Cache-Control"]


def test_a_wrong_code_is_refused_next_to_the_field_and_nothing_is_turned_on(client, citizen):
    client.force_login(citizen)
    _, device = _setup_page(client)
    wrong = current_code(device, steps_ahead=5)

    response = client.post(SETUP, {"token": wrong})

    assert response.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticToken.objects.filter(device__user=citizen).exists()
    body = page_text(response)
    field = re.search(r'<input[^>]*name="token"[^>]*>', body).group(0)
    assert "is-invalid" in field and "id_token_error" in field
    error = re.search(r'id="id_token_error"[^>]*>(.*?)</div>', body, re.S).group(1)
    assert in_language("id", WRONG_SETUP_CODE) in error
    # The same QR code stays on the page: the person types the next code, no rescan.
    assert TOTPDevice.objects.filter(user=citizen).count() == 1


def test_the_backup_codes_are_shown_once_only(client, citizen):
    client.force_login(citizen)
    _, device = _setup_page(client)
    shown = client.post(SETUP, {"token": current_code(device)})
    codes = re.findall(r"<li>([a-z0-9]{8,})</li>", shown.content.decode())

    security = page_text(client.get(SECURITY))
    setup_again = page_text(client.get(SETUP))

    for code in codes:
        assert code not in security
        assert code not in setup_again
    with translation.override("id"):
        left = ngettext(
            "You have %(left)s unused backup code.", "You have %(left)s unused backup codes.", 10
        ) % {"left": 10}
    assert left in security


def test_enrolling_ends_the_citizens_other_sessions(client, citizen):
    elsewhere = Client()
    elsewhere.force_login(citizen)
    client.force_login(citizen)
    _, device = _setup_page(client)

    client.post(SETUP, {"token": current_code(device)})

    assert client.get(SECURITY).status_code == 200
    response = elsewhere.get(SECURITY)
    assert urlparse(response["Location"]).path == reverse("accounts:login")


def test_setting_up_a_second_app_needs_the_code_of_the_first(client, citizen):
    enrol(citizen)
    login_unverified(client, citizen)

    response = client.get(SETUP)

    assert urlparse(response["Location"]).path == VERIFY
    assert not TOTPDevice.objects.filter(user=citizen, confirmed=False).exists()


# --- Verification with the app and the backup codes ------------------------------------


def test_an_enrolled_citizen_must_type_a_code_after_the_password(client, citizen):
    device, _ = enrol(citizen)
    password_login(client, citizen)

    blocked = client.get(reverse("applications:dashboard"))
    response = client.post(VERIFY, {"token": current_code(device)})

    assert urlparse(blocked["Location"]).path == VERIFY
    assert response.status_code == 302
    assert client.get(reverse("applications:dashboard")).status_code == 200


def test_a_backup_code_works_once_and_only_once(client, citizen):
    _, codes = enrol(citizen)
    login_unverified(client, citizen)

    first = client.post(VERIFY, {"token": codes[0]})

    assert first.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    again = Client()
    login_unverified(again, citizen)
    second = again.post(VERIFY, {"token": codes[0]})
    assert second.status_code == 400
    assert in_language("id", WRONG_VERIFY_CODE) in page_text(second)
    assert urlparse(again.get(reverse("accounts:profile"))["Location"]).path == VERIFY


def test_an_app_code_cannot_be_replayed_in_another_browser(client, citizen):
    device, _ = enrol(citizen)
    code = current_code(device)
    login_unverified(client, citizen)
    assert client.post(VERIFY, {"token": code}).status_code == 302
    thief = Client()
    login_unverified(thief, citizen)

    response = thief.post(VERIFY, {"token": code})

    assert response.status_code == 400


def test_the_verify_page_is_rate_limited_per_account_across_addresses(
    client, citizen, settings, frozen_clock
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "otp-verify": (3, 900)}
    device, _ = enrol(citizen)
    login_unverified(client, citizen)
    for n in range(3):
        wrong = client.post(VERIFY, {"token": "000000"}, REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert wrong.status_code == 400

    limited = client.post(VERIFY, {"token": current_code(device)}, REMOTE_ADDR="198.51.100.77")

    assert limited.status_code == 429
    assert limited["Retry-After"] == "900"
    assert in_language("id", "Too many attempts") in page_text(limited)
    assert urlparse(client.get(reverse("accounts:profile"))["Location"]).path == VERIFY


def test_the_verify_page_is_rate_limited_per_address_across_accounts(
    client, citizen, stranger, settings, frozen_clock
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "otp-verify": (3, 900)}
    enrol(citizen)
    device, _ = enrol(stranger)
    login_unverified(client, citizen)
    for _ in range(3):
        client.post(VERIFY, {"token": "000000"}, REMOTE_ADDR="198.51.100.9")
    other = Client()
    login_unverified(other, stranger)

    response = other.post(VERIFY, {"token": current_code(device)}, REMOTE_ADDR="198.51.100.9")

    assert response.status_code == 429


# --- Turning it off, new backup codes -----------------------------------------------------


def test_staff_cannot_turn_two_step_verification_off(client, officer_a):
    client.force_login(officer_a)  # verified, password typed just now

    response = client.post(DISABLE)

    assert response["Location"] == SECURITY
    assert TOTPDevice.objects.filter(user=officer_a, confirmed=True).exists()
    assert in_language("id", "Staff accounts must keep two-step verification on.") in (
        messages_of(response)
    )


def test_a_verified_citizen_turns_it_off_with_a_recent_password(client, citizen):
    enrol(citizen)
    client.force_login(citizen)
    verify_second_factor(client, citizen)

    response = client.post(DISABLE)

    assert response["Location"] == SECURITY
    assert not TOTPDevice.objects.filter(user=citizen).exists()
    assert not StaticToken.objects.filter(device__user=citizen).exists()
    assert in_language("id", "Two-step verification is off.") in messages_of(response)


def test_the_password_alone_cannot_turn_it_off(client, citizen):
    enrol(citizen)
    login_unverified(client, citizen)

    response = client.post(DISABLE)

    assert urlparse(response["Location"]).path == VERIFY
    assert TOTPDevice.objects.filter(user=citizen).exists()


def test_turning_it_off_later_asks_for_the_password_again(client, citizen, frozen_clock):
    enrol(citizen)
    client.force_login(citizen)
    verify_second_factor(client, citizen)
    frozen_clock.shift(6 * 60)  # REAUTH_SECONDS is 5 minutes

    asked = client.post(DISABLE)
    wrong = client.post(f"{REAUTH}?next={SECURITY}", {"password": "Bukan-Sandi-Saya-99"})
    right = client.post(f"{REAUTH}?next={SECURITY}", {"password": PASSWORD})
    done = client.post(DISABLE)

    assert urlparse(asked["Location"]).path == REAUTH
    assert parse_qs(urlparse(asked["Location"]).query)["next"] == [SECURITY]
    assert wrong.status_code == 200
    assert in_language("id", "The password is wrong.") in page_text(wrong)
    assert right["Location"] == SECURITY
    assert done["Location"] == SECURITY
    assert not TOTPDevice.objects.filter(user=citizen).exists()


def test_setting_it_up_later_asks_for_the_password_again(client, citizen, frozen_clock):
    client.force_login(citizen)
    frozen_clock.shift(6 * 60)

    asked = client.get(SETUP)
    confirmed = client.post(f"{REAUTH}?next={SETUP}", {"password": PASSWORD})

    assert urlparse(asked["Location"]).path == REAUTH
    assert parse_qs(urlparse(asked["Location"]).query)["next"] == [SETUP]
    assert not TOTPDevice.objects.filter(user=citizen).exists()
    assert confirmed["Location"] == SETUP
    assert client.get(SETUP).status_code == 200


def test_new_backup_codes_replace_the_old_ones(client, citizen):
    _, old = enrol(citizen)
    client.force_login(citizen)
    verify_second_factor(client, citizen)

    response = client.post(RENEW)

    new = re.findall(r"<li>([a-z0-9]{8,})</li>", response.content.decode())
    assert len(new) == 10
    assert not set(old) & set(new)
    assert not StaticToken.objects.filter(token__in=old).exists()


# --- Re-authentication before changing the email address or the phone number -----------


def test_changing_the_email_address_needs_the_current_password(client, citizen):
    client.force_login(citizen)

    response = client.post(
        reverse("accounts:email_change"),
        {"new_email": "ani.baru@example.id", "password": "Bukan-Sandi-Saya-99"},
    )

    assert response.status_code == 200
    assert in_language("id", "The password is wrong.") in page_text(response)
    assert mail.outbox == []
    citizen.refresh_from_db()
    assert citizen.email == "ani@example.id"


def test_changing_the_phone_number_needs_the_current_password(client, citizen):
    client.force_login(citizen)

    response = client.post(
        reverse("accounts:profile"),
        {
            "phone": "0813 1111 2222",
            "address": citizen.address,
            "preferred_language": "id",
        },
    )

    assert response.status_code == 200
    assert in_language("id", "Type your current password to change your mobile number.") in (
        page_text(response)
    )
    assert User.objects.get(pk=citizen.pk).phone == citizen.phone


# --- A password reset never skips the second factor -------------------------------------


def _reset_password(user, new_password: str) -> None:
    browser = Client()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    form = browser.get(reverse("accounts:password_reset_confirm", args=[uid, token]), follow=True)
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    # The reset link does not log anybody in.
    assert urlparse(browser.get(reverse("accounts:profile"))["Location"]).path == reverse(
        "accounts:login"
    )


@pytest.mark.parametrize("who", ["citizen", "officer_a"])
def test_after_a_password_reset_the_login_still_asks_for_the_code(client, request, who):
    user = request.getfixturevalue(who)
    device, _ = enrol(user)
    new_password = "Sate-Padang-Malam-77"
    _reset_password(user, new_password)

    login = password_login(client, user, new_password)
    target = reverse("admin:index") if user.is_staff else reverse("accounts:profile")
    blocked = client.get(target)
    verified = client.post(VERIFY, {"token": current_code(device)})

    assert login.status_code == 302
    assert urlparse(blocked["Location"]).path == VERIFY
    assert verified.status_code == 302
    assert client.get(target).status_code == 200
