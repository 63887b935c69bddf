# expect: 9
"""`manage.py backup_db`: JSON dump of every model, kept on the backup volume."""

from datetime import UTC, datetime
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

BACKUP_VOLUME = Path("/backups/crm")


class Command(BaseCommand):
    help = "Dump the whole database to the backup volume."

    def handle(self, *args, **options) -> None:
        BACKUP_VOLUME.mkdir(parents=True, exist_ok=True)
        target = BACKUP_VOLUME / f"crm-{datetime.now(UTC):%Y%m%d}.json"
        call_command(
            "dumpdata",
            "--natural-foreign",
            "--exclude=contenttypes",
            output=str(target),
        )
        self.stdout.write(f"wrote {target}")
