"""The renderer each request gets is the one DRF's negotiation picks, remembered per Accept header."""

import pytest
from django.conf import settings
from django.http import Http404
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.negotiation import LONGEST, REMEMBERED, RememberingContentNegotiation
from core.renderers import FastJSONRenderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/json;q=0.5, application/vnd.oai.openapi;q=0.9",
    "application/vnd.oai.openapi+json",
    "image/png",
    "",
]
RENDERERS = [
    [FastJSONRenderer],
    [FastJSONRenderer, BrowsableAPIRenderer],
    [OpenApiYamlRenderer, OpenApiJsonRenderer],
]


@pytest.fixture(autouse=True)
def forget():
    RememberingContentNegotiation.answers.clear()
    yield
    RememberingContentNegotiation.answers.clear()


def choose(negotiation, accept, renderer_classes, path="/healthz"):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    renderers = [renderer() for renderer in renderer_classes]
    try:
        renderer, media_type = negotiation.select_renderer(Request(APIRequestFactory().get(path, **headers)), renderers)
    except NotAcceptable:
        return "406"
    except Http404:  # ?format= names none of the renderers
        return "404"
    return renderers.index(renderer), media_type


@pytest.mark.parametrize("renderer_classes", RENDERERS)
@pytest.mark.parametrize("path", ["/healthz", "/api/schema/?format=json", "/api/schema/?format=yaml"])
def test_every_choice_is_drfs_first_time_and_after(renderer_classes, path):
    for accept in ACCEPTS:
        drf = choose(DefaultContentNegotiation(), accept, renderer_classes, path)
        assert choose(RememberingContentNegotiation(), accept, renderer_classes, path) == drf, accept
        assert choose(RememberingContentNegotiation(), accept, renderer_classes, path) == drf, accept


def test_an_answer_is_reused_and_a_refusal_is_not(monkeypatch):
    assert choose(RememberingContentNegotiation(), "application/json", [FastJSONRenderer]) == (0, "application/json")
    assert choose(RememberingContentNegotiation(), "text/html", [FastJSONRenderer]) == "406"
    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", None)  # DRF is not asked again
    assert choose(RememberingContentNegotiation(), "application/json", [FastJSONRenderer]) == (0, "application/json")
    with pytest.raises(TypeError):
        choose(RememberingContentNegotiation(), "text/html", [FastJSONRenderer])


def test_what_is_remembered_is_bounded():
    for i in range(3 * REMEMBERED):
        choose(RememberingContentNegotiation(), f"application/json; v={i}", [FastJSONRenderer])
    assert 0 < len(RememberingContentNegotiation.answers) <= REMEMBERED
    RememberingContentNegotiation.answers.clear()
    long = "application/json, " + "x" * LONGEST
    assert choose(RememberingContentNegotiation(), long, [FastJSONRenderer]) == (0, "application/json")
    assert RememberingContentNegotiation.answers == {}


def test_an_unacceptable_request_is_an_enveloped_406(api):
    response = api.get("/healthz", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response.json() == {
        "success": False,
        "error": "Could not satisfy the request Accept header.",
        "code": "not_acceptable",
    }
    assert api.get("/healthz", HTTP_ACCEPT="application/json").json() == {"status": "ok", "version": settings.VERSION}
