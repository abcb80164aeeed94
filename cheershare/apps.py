from django.apps import AppConfig


class CheershareConfig(AppConfig):
    """The wiring package as an app: its templates, and the production check (cheershare.production)."""

    name = "cheershare"

    def ready(self):
        from cheershare import production  # noqa: F401  (registers the check)
