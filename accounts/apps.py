from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import audit, checks  # noqa: F401  (connect the audit receivers, register checks)
