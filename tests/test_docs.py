"""The project's own docs stay true to its code: every error code it can answer is in docs/api.md's
table and the table lists no other, and no link in the docs points at a file the repository lacks."""

import json
import re

import pytest
from rest_framework import exceptions

from tests.live import ROOT

SOURCES = [ROOT / "serving.py"] + [
    path
    for app in ("accounts", "tokens", "messaging", "events", "core", "cheershare")
    for path in (ROOT / app).rglob("*.py")
    if "migrations" not in path.parts
]
BASES = {"sign_in_error", "refresh_error"}  # the codes of base classes that are never raised themselves
RAISED_BY_DRF = {  # on any route, by the framework itself
    exceptions.MethodNotAllowed.default_code,
    exceptions.NotAcceptable.default_code,
    exceptions.ParseError.default_code,
    exceptions.NotAuthenticated.default_code,  # a signed-in route called without a token
}
CODE = r'"([a-z]+(?:_[a-z]+)*)"'
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")]


def codes_in_the_code() -> set[str]:
    found = set(RAISED_BY_DRF)
    for path in SOURCES:
        for line in path.read_text().splitlines():
            found.update(re.findall(r"\b(?:default_)?code\s*=\s*" + CODE, line))
            if re.search(r"\b(?:envelope|_refuse|_json_error)\(", line):  # their code is a literal argument
                found.update(re.findall(CODE, re.sub(r"getattr\([^)]*\)", "", line)))
            for name, arguments in re.findall(r"exceptions\.([A-Z]\w+)\(([^)]*)", line):
                if "code=" not in arguments:
                    found.add(getattr(exceptions, name).default_code)
    return found - BASES


def codes_in_the_table() -> dict[str, str]:
    text = (ROOT / "docs" / "api.md").read_text()
    return dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, re.M))


def test_docs_api_lists_exactly_the_error_codes_the_code_can_answer():
    table, code = codes_in_the_table(), codes_in_the_code()
    assert sorted(code - set(table)) == [], "answered by the code, missing from docs/api.md"
    assert sorted(set(table) - code) == [], "in docs/api.md, never answered by the code"


def test_every_documented_code_has_the_status_it_answers_with():
    from accounts.api_errors import ANSWERS
    from accounts.exceptions import PasskeyRefused

    table = codes_in_the_table()
    for error, (status, _message) in ANSWERS.items():
        if error is PasskeyRefused:  # the one code with two statuses: a refused enrolment is a 400
            assert "400 for an enrolment" in (ROOT / "docs" / "api.md").read_text()
            continue
        assert table[error.code] == str(status), error.code


def test_no_link_in_the_docs_points_at_a_missing_file():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which the repository lacks"
    assert not any("shared/" in doc.read_text() for doc in DOCS)  # the team's notes are not the project's


def code_enums(schema: dict):
    """(path, method, status, enum of ``code``) of every error answer in the OpenAPI document."""
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    envelope = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                    code = json.dumps(components[envelope]["properties"]["code"])
                    enum = re.search(r'"#/components/schemas/(\w+)"', code).group(1)
                    yield path, method, status, components[enum]["enum"]


@pytest.mark.django_db
def test_the_openapi_code_enums_agree_with_docs_api(api):
    schema = json.loads(api.get("/api/schema/?format=json").content)
    table = codes_in_the_table()
    answers = list(code_enums(schema))
    assert len(answers) > 40
    for path, method, status, enum in answers:
        for code in enum:
            if (path, method, status, code) == ("/v1/passkeys", "post", "400", "passkey_invalid"):
                continue  # the one code with two statuses (see test_every_documented_code_has_...)
            assert table.get(code) == status, (
                f"{method} {path} answers {status} {code}; docs/api.md says {table.get(code)}"
            )
    signup_401 = next(enum for path, method, status, enum in answers if (path, status) == ("/v1/signup", "401"))
    assert set(signup_401) == {"otp_invalid", "otp_expired", "account_disabled"}


def test_the_openapi_examples_quote_the_messages_the_code_answers(settings):
    from accounts.api_errors import ANSWERS
    from accounts.exceptions import PasskeyRefused
    from core.errors import ServiceUnavailable
    from core.schema import EXAMPLES
    from messaging.views import SignatureInvalid
    from tokens.api_errors import refresh_failed
    from tokens.authentication import INVALID
    from tokens.refresh import RefreshInvalid, RefreshReused

    settings.LANGUAGE_CODE = "en"
    answered = {
        error.code: str(message) for error, (_status, message) in ANSWERS.items() if error is not PasskeyRefused
    }
    answered |= {error.code: str(refresh_failed(error()).detail) for error in (RefreshInvalid, RefreshReused)}
    answered |= {
        "token_invalid": str(INVALID),
        "not_authenticated": str(exceptions.NotAuthenticated.default_detail),
        "not_found": str(exceptions.NotFound.default_detail),
        "signature_invalid": str(SignatureInvalid.default_detail),
        "service_unavailable": str(ServiceUnavailable.default_detail),
    }
    assert {code: EXAMPLES[code] for code in answered} == answered
