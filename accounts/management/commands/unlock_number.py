from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import otp
from accounts.phone import normalize_phone


class Command(BaseCommand):
    help = "Lift a number's sign-in lock and failure budget (its codes are normal length again); leaves an audit event."

    def add_arguments(self, parser):
        parser.add_argument("number", help="The phone number, E.164 or national (PHONE_DEFAULT_REGION).")

    def handle(self, *args, number: str, **options):
        try:
            phone = normalize_phone(number)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        otp.unlock(phone, by="command")
        self.stdout.write(f"unlocked {phone}")
