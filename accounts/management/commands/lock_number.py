from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import otp
from accounts.phone import normalize_phone


class Command(BaseCommand):
    help = "Pause sign-in to a number (every code request and verify answers 429 verify_locked); leaves an audit event."

    def add_arguments(self, parser):
        parser.add_argument("number", help="The phone number, E.164 or national (PHONE_DEFAULT_REGION).")
        parser.add_argument("--hours", type=int, default=24, help="How long (default 24).")

    def handle(self, *args, number: str, hours: int, **options):
        if hours < 1:
            raise CommandError("--hours must be a positive whole number.")
        try:
            phone = normalize_phone(number)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        otp.lock(phone, seconds=hours * 3600, by="command")
        self.stdout.write(f"locked {phone} for {hours} h")
