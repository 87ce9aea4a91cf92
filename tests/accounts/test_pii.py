"""The NIK at rest: Fernet ciphertext plus a keyed blind index, never the digits in clear."""

from __future__ import annotations

import hashlib
import hmac
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from accounts import pii
from accounts.models import User
from tests.factories import StaffFactory, UserFactory, registration_data

pytestmark = pytest.mark.django_db

NIK = "1802015205900001"


def raw_rows() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_user")
        names = [column[0] for column in cursor.description]  # DB-API: name first
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def expected_index(nik: str, key: str) -> str:
    return hmac.new(key.encode(), f"nik:{nik}".encode(), hashlib.sha256).hexdigest()


def test_no_column_holds_the_nik_in_clear_after_registration(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:register"), registration_data(nik="1802 0152 0590 0001"))

    rows = raw_rows()
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert NIK not in str(value), f"accounts_user.{column} holds the NIK in clear"
        assert "520590" not in str(value), f"accounts_user.{column} holds part of the NIK"


def test_no_column_of_any_account_holds_its_nik(ani, eko):
    for row in raw_rows():
        for value in row.values():
            assert ani.nik not in str(value)
            assert eko.nik not in str(value)


def test_the_ciphertext_opens_with_the_configured_key(ani, settings):
    stored = User.objects.values_list("nik_encrypted", flat=True).get(pk=ani.pk)

    assert Fernet(settings.PII_ENCRYPTION_KEYS[0]).decrypt(stored.encode()).decode() == NIK
    assert User.objects.get(pk=ani.pk).nik == NIK


def test_the_same_nik_encrypts_differently_each_time():
    assert pii.encrypt(NIK) != pii.encrypt(NIK)


def test_the_blind_index_is_the_keyed_hmac_of_the_digits(ani, settings):
    assert ani.nik_index == expected_index(NIK, settings.PII_BLIND_INDEX_KEY)


def test_the_blind_index_depends_on_the_key(settings):
    before = pii.blind_index(NIK, purpose="nik")
    settings.PII_BLIND_INDEX_KEY = "another-blind-index-key-for-this-test-only-0123456789"

    assert pii.blind_index(NIK, purpose="nik") != before


def test_the_blind_index_separates_purposes():
    assert pii.blind_index(NIK, purpose="nik") != pii.blind_index(NIK, purpose="passport")


@pytest.mark.parametrize("typed", [NIK, "1802 0152 0590 0001", "18.02.01.520590.0001"])
def test_an_account_is_found_by_its_nik_however_it_is_typed(ani, eko, typed):
    assert list(User.objects.with_nik(typed)) == [ani]


def test_the_database_refuses_a_second_account_with_the_same_nik(ani):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="kembar@example.id", nik=NIK)


def test_accounts_without_a_nik_do_not_collide(db):
    first, second = StaffFactory(), StaffFactory()

    assert first.nik_index is None
    assert second.nik_index is None
    assert first.nik == second.nik == ""


def test_the_masked_nik_shows_only_the_first_and_last_four_digits(ani):
    assert ani.nik_masked == "1802********0001"


def test_ciphertext_from_an_unknown_key_raises_a_decryption_error():
    foreign = Fernet(Fernet.generate_key()).encrypt(NIK.encode()).decode()

    with pytest.raises(pii.DecryptionError):
        pii.decrypt(foreign)


def test_rotating_keys_reencrypts_under_the_new_first_key(ani, eko, settings):
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = dict(User.objects.values_list("pk", "nik_encrypted"))
    eko_nik = eko.nik
    index_before = User.objects.get(pk=ani.pk).nik_index
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    output = StringIO()

    call_command("rotate_pii_keys", stdout=output)

    assert "Re-encrypted 2 values." in output.getvalue()
    ani.refresh_from_db()
    assert ani.nik_encrypted != before[ani.pk]
    assert Fernet(new_key).decrypt(ani.nik_encrypted.encode()).decode() == NIK
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(ani.nik_encrypted.encode())
    assert ani.nik_index == index_before

    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is retired

    assert User.objects.get(pk=ani.pk).nik == NIK
    assert User.objects.get(pk=eko.pk).nik == eko_nik
    assert list(User.objects.with_nik(NIK)) == [User.objects.get(pk=ani.pk)]


def test_without_rotation_retiring_the_old_key_makes_the_nik_unreadable(ani, settings):
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(pii.DecryptionError):
        _ = User.objects.get(pk=ani.pk).nik


def test_rotation_skips_accounts_without_a_nik(ani, settings):
    StaffFactory()
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.PII_ENCRYPTION_KEYS]
    output = StringIO()

    call_command("rotate_pii_keys", stdout=output)

    assert "Re-encrypted 1 values." in output.getvalue()
    assert User.objects.filter(nik_encrypted="").count() == 1
