from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from messaging import checks, heartbeat  # noqa: F401  (the SMS length check; the worker's heartbeat)
        from messaging.app_settings import app_settings

        app_settings.register_check()
