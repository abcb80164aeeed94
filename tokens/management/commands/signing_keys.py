from django.core.management.base import BaseCommand, CommandError

from tokens.app_settings import JWT_ALGORITHMS
from tokens.keys import SigningKey


class Command(BaseCommand):
    help = (
        "The keys that sign JWT access tokens: list; generate (a next key, published before it signs); "
        "rotate (the next key, or a new one, signs from now; the old one stays published until its tokens "
        "expire); retire KID (withdraw a key)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "generate", "rotate", "retire"])
        parser.add_argument("kid", nargs="?", help="the key to retire")
        parser.add_argument("--algorithm", choices=JWT_ALGORITHMS, help="generate: default JWT_ALGORITHM")

    def handle(self, *args, action: str, kid: str | None, algorithm: str | None, **options):
        if action == "generate":
            key = SigningKey.objects.generate(algorithm)
            self.stdout.write(f"generated {key.kid} ({key.algorithm}): published, signs after the next rotate")
        elif action == "rotate":
            key = SigningKey.objects.rotate()
            self.stdout.write(f"{key.kid} ({key.algorithm}) signs from now (each process within 60 s)")
        elif action == "retire":
            if not kid:
                raise CommandError("retire needs the KID of the key to withdraw (see: signing_keys list).")
            if not SigningKey.objects.retire(kid):
                raise CommandError(f"no key {kid} that is not already retired.")
            self.stdout.write(f"retired {kid}: no longer published or accepted")
        for key in SigningKey.objects.all() if action == "list" else []:
            until = f", published until {key.published_until:%Y-%m-%d %H:%M}" if key.published_until else ""
            self.stdout.write(
                f"{key.kid}  {key.algorithm:6}  {key.state:8}  created {key.created_at:%Y-%m-%d %H:%M}{until}"
            )
