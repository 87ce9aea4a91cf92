from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import pii
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored NIK with the newest key in PII_ENCRYPTION_KEYS. "
        "Run after putting a new key first; remove the old key only afterwards."
    )

    def handle(self, *args, **options):
        rotated = 0
        users = User.objects.exclude(nik_encrypted="").only("pk", "nik_encrypted")
        for user in users.iterator(chunk_size=500):
            with transaction.atomic():
                new = pii.rotate(user.nik_encrypted)
                User.objects.filter(pk=user.pk).update(nik_encrypted=new)
            rotated += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} NIK values."))
