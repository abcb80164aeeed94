from django.core.management.base import BaseCommand, CommandError

from messaging.purge import purge_delivery_records


class Command(BaseCommand):
    help = "Delete message records older than DELIVERY_RETENTION_DAYS (and lapsed suppressions) in batches."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=10_000, help="Records per DELETE (default 10000).")

    def handle(self, *args, dry_run: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be a positive whole number.")
        count = purge_delivery_records(batch_size=batch_size, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} message records")
