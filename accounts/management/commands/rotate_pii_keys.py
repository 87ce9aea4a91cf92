from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction

from accounts import pii

# Every column holding PII ciphertext is named `<something>_encrypted` (NIKs of
# accounts, family members and applications; passport numbers): found by name,
# so a field added later is rotated too without touching this command.
SUFFIX = "_encrypted"


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """(model, [field names]) for every concrete model with PII ciphertext columns."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [
            field.name
            for field in model._meta.concrete_fields
            if field.name.endswith(SUFFIX)
            and isinstance(field, models.TextField | models.CharField)
        ]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored NIK and passport number with the newest key in "
        "PII_ENCRYPTION_KEYS. Run after putting a new key first; remove the old key "
        "only afterwards."
    )

    def handle(self, *args, **options):
        total = 0
        for model, names in encrypted_fields():
            rotated = self._rotate(model, names)
            total += rotated
            self.stdout.write(f"{model._meta.label}: {rotated} values ({', '.join(names)})")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} values."))

    def _rotate(self, model: type[models.Model], names: list[str]) -> int:
        """Row by row, each in its own short transaction; blanks stay blank.

        Each value is replaced only if it is still the one read (a conditional
        UPDATE): a NIK changed meanwhile is already under the newest key and
        must not be overwritten with the rotated old one.
        """
        manager = model._base_manager
        non_empty = models.Q()
        for name in names:
            non_empty |= ~models.Q(**{name: ""}) & models.Q(**{f"{name}__isnull": False})
        rotated = 0
        rows = manager.filter(non_empty).values_list("pk", *names)
        for pk, *tokens in rows.iterator(chunk_size=500):
            with transaction.atomic():
                for name, token in zip(names, tokens, strict=True):
                    if token:
                        rotated += manager.filter(pk=pk, **{name: token}).update(
                            **{name: pii.rotate(token)}
                        )
        return rotated
