from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"

    def ready(self):
        from tokens import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from tokens.app_settings import app_settings

        app_settings.register_check()
