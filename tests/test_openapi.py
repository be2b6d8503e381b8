"""The OpenAPI document at /api/openapi.json describes exactly the /api routes and the public
verification JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis

from handlers.app import create_app
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
