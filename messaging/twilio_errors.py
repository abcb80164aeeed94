"""What Twilio's error codes mean, for the people reading message records (the admin). From Twilio's
error dictionary (twilio.com/docs/api/errors); a code not listed shows as its number alone."""

MEANINGS = {
    20003: "Authentication failed: check the account SID and auth token (or API key)",
    20429: "Too many requests: Twilio's rate limit",
    21211: "Invalid 'To' number",
    21408: "Sending to this region is not enabled in the Twilio console (geo permissions)",
    21610: "The recipient replied STOP: unsubscribed",
    21612: "The 'To' number cannot be reached from this sender",
    21614: "'To' is not a mobile number",
    21617: "The message body is too long",
    30001: "Queue overflow: too many messages queued for this sender",
    30002: "The Twilio account is suspended",
    30003: "Unreachable handset: off, or out of coverage",
    30004: "Message blocked by the recipient or the carrier",
    30005: "Unknown destination handset: the number does not exist",
    30006: "Landline or unreachable carrier",
    30007: "Filtered by the carrier as spam",
    30008: "Unknown error from the carrier",
    30034: "Sender not registered for A2P 10DLC (United States)",
    63003: "WhatsApp: the number has no WhatsApp account",
    63016: "WhatsApp: outside the 24-hour window, a template is required",
}


def describe(code: int | None) -> str:
    """``30005: Unknown destination handset: ...``; the code alone if it is not listed; "" for none."""
    if code is None:
        return ""
    meaning = MEANINGS.get(code)
    return f"{code}: {meaning}" if meaning else str(code)
