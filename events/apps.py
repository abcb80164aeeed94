from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self):
        from events import outbox  # noqa: F401  (connects the receivers that write events)
        from events.app_settings import app_settings

        app_settings.register_check()
