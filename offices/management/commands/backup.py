from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from offices.management import backups


class Command(BaseCommand):
    help = (
        "Back up the database and the private files (uploaded documents, receipts) "
        "into one directory with a manifest of SHA-256 checksums. The PII encryption "
        "keys are not included: keep them in the secret store (docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            metavar="DIR",
            type=Path,
            help="Backup directory to create (default: VAR_DIR/backups/<UTC timestamp>/).",
        )

    def handle(self, *args, **options):
        summary = backups.create_backup(options["output"])
        self.stdout.write(self.style.SUCCESS(backups.describe_backup(summary)))
