# expect: none
"""`manage.py rotate_keys`: rotates data keys and prints what changed."""

from django.core.management.base import BaseCommand

from .keyring import keyring


class Command(BaseCommand):
    help = "Rotate the data-encryption keys and report the new key ids."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--purpose", default="records")

    def handle(self, *args, **options) -> None:
        purpose = options["purpose"]
        old_kid = keyring.primary_kid(purpose)
        new_kid = keyring.rotate(purpose)
        print(f"purpose={purpose}: primary key {old_kid} -> {new_kid}")
        for kid, state in keyring.states(purpose).items():
            self.stdout.write(f"  {kid}: {state}")
