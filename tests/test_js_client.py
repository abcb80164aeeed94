"""The TypeScript client's types (clients/js/src/types.ts) name the fields of the server's OpenAPI
document, so a server change that breaks the client fails here."""

import json
import re

import pytest

from tests.live import ROOT

TYPES = ROOT / "clients" / "js" / "src" / "types.ts"
MATCHING = {  # the client's interface: the OpenAPI component it reads
    "CodeSent": "CodeSentOutput",
    "User": "UserOutput",
    "SignedIn": "SignedInOutput",
    "Refreshed": "RefreshedOutput",
}
OPTIONAL = {"refresh_token"}  # absent in the cookie mode (REFRESH_COOKIE=1)


def interfaces() -> dict[str, dict[str, bool]]:
    """Each interface's fields (with whether optional), parents' included."""
    found, parents = {}, {}
    for name, parent, body in re.findall(
        r"export interface (\w+)(?: extends (\w+))? \{(.*?)\n\}", TYPES.read_text(), re.S
    ):
        found[name] = {field: bool(optional) for field, optional in re.findall(r"^\s+(\w+)(\?)?:", body, re.M)}
        parents[name] = parent
    for name, parent in parents.items():
        if parent:
            found[name] = {**found[parent], **found[name]}
    return found


@pytest.mark.django_db
def test_the_clients_types_name_the_servers_fields(api):
    schema = json.loads(api.get("/api/schema/?format=json").content)["components"]["schemas"]
    declared = interfaces()
    for interface, component in MATCHING.items():
        properties = set(schema[component]["properties"])
        fields = declared[interface]
        assert set(fields) == properties, (interface, set(fields) ^ properties)
        required = set(schema[component].get("required", []))
        for field, optional in fields.items():
            if field in required and optional:
                assert field in OPTIONAL, (interface, field)
