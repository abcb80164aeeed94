from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from messaging import checks  # noqa: F401  (registers the SMS length check)
        from messaging.app_settings import app_settings

        app_settings.register_check()
        app_settings.enforce()
