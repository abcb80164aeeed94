from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"

    def ready(self):
        from tokens import revocation  # noqa: F401  (connects the revocation publishers)
