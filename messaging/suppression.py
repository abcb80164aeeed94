"""Numbers Twilio reports as unable to take messages are not sent to for SMS_SUPPRESS_SECONDS."""

from datetime import timedelta

from django.utils import timezone

from messaging import gates, signals
from messaging.app_settings import app_settings
from messaging.models import Suppression

# Per-number permanent errors: invalid number, the person replied STOP, not a mobile number,
# unknown destination, landline or unreachable carrier.
UNREACHABLE = {21211, 21610, 21614, 30005, 30006}


def suppress_if_unreachable(phone: str, error_code: int | None) -> bool:
    if error_code not in UNREACHABLE:
        return False
    now = timezone.now()
    until = now + timedelta(seconds=app_settings.SMS_SUPPRESS_SECONDS)
    Suppression.objects.update_or_create(
        phone_number=phone, defaults={"error_code": error_code, "created_at": now, "until": until}
    )
    gates.mirror_suppression(phone, until)
    signals.number_suppressed.send(sender=Suppression, phone=phone, error_code=error_code)
    return True


def lift(suppressions) -> int:
    """Lift ``suppressions`` (the admin's action): the numbers can be sent to again at once."""
    phones = list(suppressions.values_list("phone_number", flat=True))
    lifted = suppressions.delete()[0]
    for phone in phones:
        gates.mirror_suppression(phone, timezone.now())
    return lifted
