from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import audit  # noqa: F401  (connects the audit receivers)
        from accounts.app_settings import app_settings

        app_settings.register_check()
