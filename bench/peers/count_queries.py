"""SQL statements and writes of one code request and one verify of a peer (run in .venv-peers):
prints JSON {"code": [statements, writes], "verify": [statements, writes]}."""

import json
import sys

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.helpers import statement_counts  # noqa: E402

STEPS = {
    "django-rest-passwordless": ("/auth/mobile/", "mobile", "/auth/token/"),
    "django-phone-verify": ("/phone/register", "phone_number", "/phone/verify"),
}


def counted(client: Client, path: str, body: dict) -> list[int]:
    with CaptureQueriesContext(connection) as queries:
        client.post(path, body, content_type="application/json")
    return statement_counts(queries)


def main(name: str) -> None:
    code_path, field, verify_path = STEPS[name]
    client = Client()
    result = {}
    for attempt, phone in enumerate(["+919812300001", "+919812300002"]):  # the first one warms up
        step = counted(client, code_path, {field: phone})
        if name == "django-rest-passwordless":
            from drfpasswordless.models import CallbackToken

            body = {"mobile": phone, "token": CallbackToken.objects.filter(to_alias=phone).latest("created_at").key}
        else:
            from phone_verify.models import SMSVerification

            row = SMSVerification.objects.filter(phone_number=phone).latest("created_at")
            body = {"phone_number": phone, "security_code": row.security_code, "session_token": row.session_token}
        check = counted(client, verify_path, body)
        if attempt:
            result = {"code": step, "verify": check}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
