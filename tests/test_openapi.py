"""The OpenAPI document at /api/openapi.json describes exactly the /api routes and the public
verification JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis

from handlers.app import create_app
from handlers.dept_objections import ACTIONS
from handlers.objection_forms import SUBMIT_FIELDS
from handlers.openapi import build_document

METHODS = {"get", "post", "put", "patch", "delete"}
# Public JSON outside /api that the document describes too.
PUBLIC = {"/verify/keys.json", "/verify/{report_no}.json"}


def api_routes(settings, public: bool = False) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The /api routes served (and, with public, the verification JSON too)."""
    app = create_app(settings)
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and (
            route.resource.canonical.startswith("/api/")
            or (public and route.resource.canonical in PUBLIC)
        )
        and route.method not in ("HEAD", "OPTIONS", "*")
    }


def test_the_document_lists_every_api_route_and_no_other(settings):
    document = build_document()
    described = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    routes = api_routes(settings, public=True)
    assert described - routes == set(), "described but not served"
    assert routes - described == set(), "served but not described"


def test_the_document_loads_as_openapi_3_with_every_operation_valid():
    schema = schemathesis.openapi.from_dict(build_document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(
        1 for item in build_document()["paths"].values() for m in item if m in METHODS
    )


def test_every_operation_answers_errors_in_the_shared_shape():
    for path, item in build_document()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                default = operation["responses"].get("default", {})
                assert default.get("$ref") == "#/components/responses/Error", (method, path)


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            document = document[part]
        node = document
    return node


def _operations() -> list[tuple[str, str, dict]]:
    return [
        (method, path, operation)
        for path, item in build_document()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_creating_post_documents_its_422():
    """An Idempotency-Key used again for another body is 422, as is a rule the body breaks."""
    document = build_document()
    for method, path, operation in _operations():
        parameters = [_resolve(document, p) for p in operation.get("parameters", [])]
        if any(p["name"] == "Idempotency-Key" for p in parameters):
            assert operation["responses"].get("422") == {
                "$ref": "#/components/responses/Unprocessable"
            }, (method, path)


# The forms the handlers read, by operation; their fields (images aside) are the document's.
FORMS = {
    ("post", "/api/mp/objections"): SUBMIT_FIELDS,
    ("post", "/api/dept/objections/{id}/accept"): ACTIONS["accept"],
    ("post", "/api/dept/objections/{id}/resolve"): ACTIONS["resolve"],
}


def test_every_multipart_form_is_closed_and_lists_what_its_handler_reads():
    document = build_document()
    forms = {}
    for method, path, operation in _operations():
        body = _resolve(document, operation.get("requestBody", {}))
        if "multipart/form-data" in body.get("content", {}):
            schema = _resolve(document, body["content"]["multipart/form-data"]["schema"])
            assert schema.get("additionalProperties") is False, (method, path)
            forms[(method, path)] = set(schema["properties"]) - {"images"}
    assert forms == {operation: set(fields) for operation, fields in FORMS.items()}


async def test_the_served_document_is_the_built_one(cli):
    r = await cli.get("/api/openapi.json")
    assert r.status == 200 and r.content_type == "application/json"
    assert await r.json() == build_document()


def test_a_fragment_that_describes_a_path_twice_is_refused(tmp_path: Path):
    (tmp_path / "base.yaml").write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\n")
    fragment = "paths:\n  /api/x:\n    get: {responses: {'200': {description: ok}}}\n"
    (tmp_path / "a.yaml").write_text(fragment)
    (tmp_path / "b.yaml").write_text(fragment)
    with pytest.raises(ValueError, match="already described"):
        build_document(tmp_path)
