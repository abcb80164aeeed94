from django.core.management.base import BaseCommand

from accounts.devices import KnownDevice


class Command(BaseCommand):
    help = "Delete expired device tokens (a device token lives SESSION_MAX_AGE); print how many."

    def handle(self, *args, **options):
        self.stdout.write(f"deleted {KnownDevice.objects.purge_expired()} expired device tokens")
