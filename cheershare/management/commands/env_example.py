from django.core.management.base import BaseCommand

from cheershare.environment import example


class Command(BaseCommand):
    help = "Print .env.example: every setting read from the environment, at its default."

    def handle(self, *args, **options):
        self.stdout.write(example(), ending="")
