from django.core.management.base import BaseCommand

from messaging import text
from messaging.segments import encoding, segments, units


class Command(BaseCommand):
    help = "Print every configured SMS (default and per region, per language): encoding and segments."

    def handle(self, *args, **options):
        for region, language, body in text.previews():
            self.stdout.write(
                f"== {region} / {language}: {encoding(body)}, {units(body)} units, {segments(body)} segment(s)"
            )
            self.stdout.write(body)
            self.stdout.write("")
