"""System checks beyond the settings' own: an SMS that needs more than one segment costs more."""

from django.core.checks import Warning, register

from messaging import text


@register
def sms_length(app_configs=None, **kwargs) -> list[Warning]:
    return [
        Warning(
            f"The {region}/{language} SMS needs {count} segments ({encoding}); each one is billed. "
            "Shorten the template (python manage.py sms_preview).",
            id="messaging.W001",
        )
        for region, language, encoding, count in text.measured_previews()
        if 1 < count <= text.MAX_SEGMENTS
    ]
