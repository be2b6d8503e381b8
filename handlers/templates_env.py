"""The Jinja2 environment of the server-rendered pages (ops and verify)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)


def render_page(template: str, status: int = 200, **context: object) -> web.Response:
    body = TEMPLATES.get_template(template).render(**context)
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status)
