from django.core.management.base import BaseCommand, CommandError

from tokens.purge import purge_ended_sessions, purge_expired_tokens


class Command(BaseCommand):
    help = "Delete ended sessions (with their tokens) and expired tokens in batches; print how many."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=10_000, help="Rows per DELETE (default 10000).")

    def handle(self, *args, dry_run: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be a positive whole number.")
        sessions = purge_ended_sessions(batch_size=batch_size, dry_run=dry_run)
        tokens = purge_expired_tokens(batch_size=batch_size, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {tokens} expired tokens")
        self.stdout.write(f"{verb} {sessions} ended sessions")
