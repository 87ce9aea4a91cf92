"""Download my data (UU PDP art. 7 and 13): the person's whole file, JSON or PDF,
after typing the password again; only their own rows; limited per account."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse
from pypdf import PdfReader

from accounts import personal_data
from audit.models import AuditEntry
from notifications.models import Channel, Notification
from notifications.services import notify
from tests.factories import PASSWORD
from tests.privacy.conftest import world_of
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

URL = reverse("accounts:my_data")


@pytest.fixture
def worlds(ani, eko, office_a, passport_service, system_officer):
    return (
        world_of(ani, office_a, passport_service, system_officer, tag="ANI"),
        world_of(eko, office_a, passport_service, system_officer, tag="EKO"),
    )


def download(client, kind: str = "json", password: str = PASSWORD):
    return client.post(URL, {"password": password, "format": kind})


def exported(response) -> dict:
    return json.loads(response.content)


def test_the_profile_page_links_to_the_download_and_the_deletion_pages(client, ani):
    client.force_login(ani)

    body = client.get(reverse("accounts:profile")).content.decode()

    assert URL in body
    assert reverse("accounts:delete_account") in body


def test_the_page_says_what_is_included_and_asks_for_the_password(client, ani):
    client.force_login(ani)

    response = client.get(URL)

    text = page_text(response)
    assert response.status_code == 200
    assert 'type="password"' in text
    assert 'value="json"' in text and 'value="pdf"' in text
    for _key, sentence in personal_data.sections():
        assert sentence in text


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.post(URL, {"password": PASSWORD, "format": "json"})

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_json_file_holds_the_whole_account_and_only_its_own_rows(client, ani, worlds):
    mine, theirs = worlds
    client.force_login(ani)

    response = download(client, "json")

    assert response.status_code == 200
    data = exported(response)
    text = json.dumps(data, ensure_ascii=False)
    account = data["account"]
    assert account["email"] == "ani@example.id"
    assert account["full_name"] == "Ani Lestari"
    assert account["nik"] == "1802015205900001"  # in full: it is her own number
    assert account["date_of_birth"] == "1990-05-12"
    assert account["sex"] == "P"
    assert account["phone"] == ani.phone
    assert account["address"] == ani.address
    assert account["preferred_language"] == "id"
    assert account["privacy_consent_at"] and account["email_verified_at"]
    assert {p["full_name"] for p in data["family_members"]} == {"Ani Lestari", "Anak ANI"}
    assert mine["child_nik"] in text
    (application,) = data["applications"]
    assert application["reference"] == mine["reference"]
    assert application["status"] == "completed"
    assert application["applicant"]["nik"] == "1802015205900001"
    assert application["details"]["destination"] == "Malaysia"
    assert [e["to"] for e in application["status_history"]][:2] == ["submitted", "awaiting_payment"]
    assert application["status_history"][-1]["to"] == "completed"
    document = application["documents"][0]
    assert set(document) >= {
        "requirement",
        "original_name",
        "size",
        "sha256",
        "uploaded_at",
        "state",
    }
    (bill,) = application["bills"]
    assert bill["billing_code"] == mine["billing_code"] and bill["ntpn"] == mine["ntpn"]
    assert bill["payments"][0]["refund"]["reason"] == "Kelebihan bayar ANI"
    assert data["bookings"][0]["code"] == mine["booking_code"]
    assert data["bookings"][0]["question"] == "Pertanyaan ANI"
    assert data["waiting_list"][0]["topic"] == "visa"
    assert any(n["event"] == "payment.refunded" for n in data["notifications"])
    assert data["phone_verifications"][0]["phone"] == ani.phone
    # Nothing of eko's, however it is spelled.
    for value in (
        theirs["email"],
        theirs["nik"],
        theirs["child_name"],
        theirs["child_nik"],
        theirs["reference"],
        theirs["billing_code"],
        theirs["ntpn"],
        theirs["booking_code"],
        theirs["question"],
        theirs["phone"],
    ):
        assert value not in text, value


def test_each_of_two_citizens_gets_only_their_own_file(client, ani, eko, worlds):
    mine, theirs = worlds
    client.force_login(eko)

    text = json.dumps(exported(download(client, "json")), ensure_ascii=False)

    assert theirs["reference"] in text and theirs["child_nik"] in text
    for value in (
        mine["email"],
        mine["nik"],
        mine["reference"],
        mine["billing_code"],
        mine["booking_code"],
        mine["question"],
        mine["child_nik"],
    ):
        assert value not in text, value


def test_no_secret_leaves_with_the_file(client, ani, worlds, system_officer):
    notify(ani, "account.phone_code", {"code": "482913", "minutes": 10}, channels=(Channel.SMS,))
    assert Notification.objects.filter(recipient=ani, body__contains="482913").exists()
    client.force_login(ani)

    response = download(client, "json")

    raw = response.content.decode()
    assert "482913" not in raw  # an SMS code, still in the outbox
    assert "f" * 64 not in raw  # the phone code's hash
    assert ani.password not in raw
    assert "system.officer" not in raw and "sistem@example.id" not in raw  # officers by role only
    history = exported(response)["applications"][0]["status_history"]
    assert {e["by_role"] for e in history} <= {"citizen", "officer", "system"}


def test_the_json_file_is_an_attachment_the_browser_must_not_cache(client, ani):
    client.force_login(ani)

    response = download(client, "json")

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="data-saya-imigrasi-')
    assert response["Content-Disposition"].endswith('.json"')
    assert response["Cache-Control"] == "no-store"


def test_the_pdf_holds_the_nik_and_the_application_reference(client, ani, worlds):
    mine, theirs = worlds
    client.force_login(ani)

    response = download(client, "pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('.pdf"')
    assert response["Cache-Control"] == "no-store"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = "".join(text.split())
    assert "1802015205900001" in flat
    assert mine["reference"] in flat
    assert mine["child_nik"] in flat
    assert theirs["reference"] not in flat and theirs["nik"] not in flat
    # Indonesian by default, dates written out: "12 Mei 1990".
    assert "12 Mei 1990" in text


def test_a_wrong_password_is_refused_next_to_the_field(client, ani):
    client.force_login(ani)

    response = download(client, "json", password="bukan-sandi-saya")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors["password"] == [
        in_language("id", "The password is wrong.")
    ]
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PERSONAL_DATA_EXPORTED).exists()


def test_a_format_other_than_json_or_pdf_is_refused(client, ani):
    client.force_login(ani)

    response = download(client, "xml")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_after_five_attempts_in_a_quarter_hour_the_sixth_gets_the_429_page(client, ani):
    client.force_login(ani)
    for _ in range(5):
        assert download(client, "json", password="salah-salah-salah").status_code == 200

    response = download(client, "json")  # even with the right password

    assert response.status_code == 429
    assert "Retry-After" in response
    assert response["Content-Type"].startswith("text/html")


def test_the_limit_is_per_account(client, ani, eko):
    client.force_login(ani)
    for _ in range(6):
        download(client, "json", password="salah-salah-salah")
    client.force_login(eko)

    assert download(client, "json").status_code == 200


def test_each_download_is_recorded_in_the_audit_trail(client, ani):
    client.force_login(ani)

    download(client, "json")
    download(client, "pdf")

    entries = AuditEntry.objects.filter(action=AuditEntry.Action.PERSONAL_DATA_EXPORTED)
    assert [
        (e.actor_id, e.object_id, e.detail["format"]) for e in entries.order_by("at", "pk")
    ] == [
        (ani.pk, str(ani.pk), "json"),
        (ani.pk, str(ani.pk), "pdf"),
    ]
    assert all("Ani" not in e.object_label for e in entries)
