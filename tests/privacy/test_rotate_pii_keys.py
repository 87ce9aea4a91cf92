"""`manage.py rotate_pii_keys` re-encrypts every PII ciphertext in every model:
account, family-member and application NIKs and passport numbers."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from accounts.management.commands.rotate_pii_keys import encrypted_fields
from accounts.models import User
from applications.models import Application, Person
from applications.workflow import Status
from tests.privacy.conftest import advance, complete_draft

pytestmark = pytest.mark.django_db


def test_every_encrypted_column_of_every_model_is_covered():
    found = {(model._meta.label, name) for model, names in encrypted_fields() for name in names}

    assert found >= {
        ("accounts.User", "nik_encrypted"),
        ("applications.Person", "nik_encrypted"),
        ("applications.Application", "nik_encrypted"),
        ("applications.Application", "passport_number_encrypted"),
    }


def test_rotation_re_encrypts_nik_and_passport_numbers_everywhere(
    ani, office_a, permit_service, budi, settings
):
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old_key]
    ani = User.objects.get(pk=ani.pk)
    ani.set_nik("1802015205900001")
    ani.save()
    application = advance(complete_draft(ani, office_a, permit_service), Status.SUBMITTED)
    child = Person(owner=ani, relationship=Person.Relationship.CHILD, full_name="Anak")
    child.set_nik("1802010403150009")
    child.save()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    output = StringIO()

    call_command("rotate_pii_keys", stdout=output)

    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    rows = [
        User.objects.get(pk=ani.pk).nik_encrypted,
        Person.objects.get(pk=child.pk).nik_encrypted,
        Person.objects.get(owner=ani, relationship="self").nik_encrypted,
        Application.objects.get(pk=application.pk).nik_encrypted,
        Application.objects.get(pk=application.pk).passport_number_encrypted,
    ]
    for token in rows:
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(token.encode())
    assert User.objects.get(pk=ani.pk).nik == "1802015205900001"
    assert Person.objects.get(pk=child.pk).nik == "1802010403150009"
    fresh = Application.objects.get(pk=application.pk)
    assert fresh.nik == "1802015205900001"
    assert fresh.passport_number == "A1234567"
    assert "applications.Application: 2 values" in output.getvalue()
    assert "Re-encrypted 5 values." in output.getvalue()


def test_a_value_changed_during_the_rotation_is_not_overwritten(ani, settings, monkeypatch):
    """The command replaces a value only if it is still the one it read."""
    from accounts import pii

    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.PII_ENCRYPTION_KEYS]
    real_rotate = pii.rotate

    def rotate_while_the_person_edits(token: str) -> str:
        User.objects.filter(pk=ani.pk).update(nik_encrypted=pii.encrypt("1802015205900002"))
        return real_rotate(token)

    monkeypatch.setattr(pii, "rotate", rotate_while_the_person_edits)

    call_command("rotate_pii_keys", stdout=StringIO())

    assert User.objects.get(pk=ani.pk).nik == "1802015205900002"
