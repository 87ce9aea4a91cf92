from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from offices.management import backups


class Command(BaseCommand):
    help = (
        "Replace the database and the private files with a backup made by "
        "`manage.py backup`, after checking every checksum. Stop the web server "
        "and the Celery worker and beat first."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="A backup directory.")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )

    def handle(self, *args, **options):
        directory = options["directory"]
        # Everything is checked before anything is touched.
        manifest, warnings = backups.verify_backup(directory)
        for warning in warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        if options["interactive"]:
            self._confirm(manifest)
        message = backups.restore_backup(directory, manifest)
        self.stdout.write(self.style.SUCCESS(message))

    def _confirm(self, manifest: dict) -> None:
        from django.db import connection

        answer = input(
            f"This replaces every row of the database "
            f"{connection.settings_dict.get('NAME')!r} and every file under "
            f"{backups.private_root()} with the backup of {manifest['created_at']}.\n"
            "Type 'yes' to continue: "
        )
        if answer.strip() != "yes":
            raise CommandError("Restore cancelled: nothing was changed.")
