"""The API's responses and the log lines are encoded by orjson, with the bytes DRF and ``json`` write."""

import datetime
import decimal
import json
import uuid
from collections import OrderedDict

import pytest
from django.conf import settings
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core import logs
from core.renderers import FastJSONRenderer

UTC = datetime.UTC
PAYLOADS = [
    {"data": "Protected"},
    {"success": True, "message": gettext_lazy("OTP sent successfully"), "expires_in": 300, "resend_in": 30},
    {"error": {"code": "token_invalid", "message": gettext_lazy("Invalid or expired token."), "details": None}},
    ReturnDict({"id": 7, "created_at": "2026-12-03T12:00:00Z", "current": False}, serializer=None),
    {"data": ReturnList([OrderedDict(id=1), OrderedDict(id=2)], serializer=None)},
    {"name": "Asha Rao", "local": "नमस्ते, ça va? 🎉", "control": 'a\u0000b\nc"d\\e\u001f'},
    {"javascript": "a\u2028b\u2029c"},  # DRF escapes the line separators (JSON as a strict JavaScript subset)
    {"aware": datetime.datetime(2026, 12, 3, 12, 0, 1, 123456, tzinfo=UTC), "naive": datetime.datetime(2026, 12, 3)},
    {"date": datetime.date(2026, 12, 3), "time": datetime.time(9, 30, 0, 250)},
    {"decimal": decimal.Decimal("1.50"), "uuid": uuid.UUID(int=1), "tuple": (1, "two"), "frozen": frozenset({3})},
    {1: "int key", 2.5: "float key", None: "null key"},
    {"big": 2**63 - 1, "small": -(2**63), "nested": [[[{"deep": [None, False, 0, ""]}]]]},
    {"bigger": 2**64},  # past orjson's integers: DRF renders it
    [],
    "a string",
]


@pytest.mark.parametrize("data", PAYLOADS)
@pytest.mark.parametrize("media_type", [None, "application/json", "application/json; indent=4"])
def test_the_renderer_writes_drfs_bytes(data, media_type):
    assert FastJSONRenderer().render(data, media_type, {}) == JSONRenderer().render(data, media_type, {})


def test_the_renderer_keeps_drfs_refusals():
    for data, error in [({"object": object()}, TypeError), ({"surrogate": "\ud800"}, UnicodeEncodeError)]:
        with pytest.raises(error):
            JSONRenderer().render(data)
        with pytest.raises(error):
            FastJSONRenderer().render(data)


def test_the_renderer_does_not_use_json(monkeypatch):
    monkeypatch.setattr(json, "dumps", None)  # the fallback would fail calling it
    assert FastJSONRenderer().render(PAYLOADS[1], "application/json", {}) == (
        b'{"success":true,"message":"OTP sent successfully","expires_in":300,"resend_in":30}'
    )


def test_responses_are_rendered_by_it(api):
    response = api.get("/healthz")
    assert type(response.accepted_renderer) is FastJSONRenderer
    assert response.content == b'{"status":"ok","version":"%s"}' % settings.VERSION.encode()


def test_log_lines_are_json_whatever_their_values(monkeypatch):
    line = {"message": "ça va \u2028", "count": 2**70, "surrogate": "\udc80", "when": datetime.date(2026, 12, 3)}
    assert json.loads(logs.dumps(line)) == {**line, "when": "2026-12-03"}
    plain = {"message": "request", "status": 200, "duration_ms": 0.35, "user_id": None}
    monkeypatch.setattr(json, "dumps", None)  # orjson writes what it can
    assert json.loads(logs.dumps(plain)) == plain
