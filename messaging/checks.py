"""System checks beyond the settings' own: an SMS that needs more than one segment costs more."""

from django.core.checks import Warning, register

from messaging import text
from messaging.segments import encoding, segments


@register
def sms_length(app_configs=None, **kwargs) -> list[Warning]:
    try:
        rendered = text.previews()
    except ValueError:
        return []
    return [
        Warning(
            f"The {region}/{language} SMS needs {segments(body)} segments ({encoding(body)}); "
            "each one is billed. Shorten the template (python manage.py sms_preview).",
            id="messaging.W001",
        )
        for region, language, body in rendered
        if 1 < segments(body) <= text.MAX_SEGMENTS
    ]
