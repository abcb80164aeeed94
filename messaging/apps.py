from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from messaging.app_settings import app_settings

        app_settings.register_check()
        app_settings.enforce()
