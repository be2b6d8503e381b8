"""The OpenAPI 3 document at /api/openapi.json, assembled from the fragments in openapi/*.yaml.

Each feature keeps its own fragment (paths and component schemas); base.yaml holds the info,
the error shape and the security schemes. A test compares the document with the routes.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from handlers.json_api import dumps

SOURCE_DIR = Path(__file__).resolve().parent.parent / "openapi"
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "requestBodies", "securitySchemes")


def build_document(source: Path = SOURCE_DIR) -> dict[str, Any]:
    """base.yaml with every other fragment's paths and components merged in."""
    document: dict[str, Any] = yaml.safe_load((source / "base.yaml").read_text(encoding="utf-8"))
    document.setdefault("paths", {})
    components = document.setdefault("components", {})
    for fragment_path in sorted(source.glob("*.yaml")):
        if fragment_path.name == "base.yaml":
            continue
        fragment = yaml.safe_load(fragment_path.read_text(encoding="utf-8")) or {}
        for path, item in (fragment.get("paths") or {}).items():
            if path in document["paths"]:
                raise ValueError(f"{fragment_path.name}: {path} is already described")
            document["paths"][path] = item
        for section in COMPONENT_SECTIONS:
            for name, value in ((fragment.get("components") or {}).get(section) or {}).items():
                target = components.setdefault(section, {})
                if name in target:
                    raise ValueError(f"{fragment_path.name}: component {name} is already defined")
                target[name] = value
    return document


@functools.cache
def _document_bytes() -> bytes:
    return dumps(build_document()).encode()


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=_document_bytes(), content_type="application/json")


def setup(app: web.Application) -> None:
    _document_bytes()  # read once at start-up, and fail early on a broken fragment
    app.router.add_get("/api/openapi.json", openapi_json, allow_head=False)
