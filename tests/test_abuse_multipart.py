"""Abuse: flooding the mini-program routes, and multipart bodies built to exhaust memory.

Every /api/mp and /api/hall route (the objection routes included) counts against the per-IP and
per-user limits; a form is streamed under caps and refused as soon as it passes one. A property
test drives the multipart reader with forms around every cap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from handlers.objection_forms import (
    MAX_FIELD_BYTES,
    MAX_FIELDS_BYTES,
    MAX_FORM_BYTES,
    MAX_PARTS,
    read_form,
)
from services.accounts.operators import create_operator
from services.errors import InvalidRequest
from services.objections.attachments import MAX_IMAGE_BYTES, MAX_IMAGES
from tests.test_objection_support import bound_user, enterprise, token

LIMIT = 4
# Public and served from memory (see handlers.mp.domains); the document is static.
UNCOUNTED = {("GET", "/api/mp/domains"), ("GET", "/api/openapi.json")}
OBJECTION_ROUTES = 7  # handlers.mp_objections: six under /objections, and /subscriptions


def counted_routes(app: web.Application) -> list[tuple[str, str]]:
    routes = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or not path.startswith(("/api/mp", "/api/hall")):
            continue
        if (route.method, path) not in UNCOUNTED:
            routes.append((route.method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(routes, key=lambda r: r[1] == "/api/mp/logout")  # it ends the session


async def _forget_counts(redis: Redis) -> None:
    keys = [k async for k in redis.scan_iter("ratelimit:*")]
    if keys:
        await redis.delete(*keys)


async def _statuses(client, redis, method, path, headers, n):  # type: ignore[no-untyped-def]
    await _forget_counts(redis)
    out = []
    for _ in range(n):
        r = await client.request(method, path, headers=headers, data=b"{}")
        out.append(r.status)
    return out


@pytest.mark.parametrize("per", ["ip", "user"])
async def test_every_mini_program_and_window_route_is_rate_limited(
    aiohttp_client, settings: Settings, db: str, redis: Redis, per: str
):
    limits = {"mp_rate_per_ip": LIMIT if per == "ip" else 10**6,
              "mp_rate_per_user": LIMIT if per == "user" else 10**6}  # fmt: skip
    app = create_app(dataclasses.replace(settings, **limits))
    client = await aiohttp_client(app)
    user_headers = await token(redis, await bound_user(await enterprise(1)))
    hall = {"Authorization": f"Bearer {(await create_operator('窗口1', 'hall')).key}"}
    routes = counted_routes(app)
    objection_routes = [p for _, p in routes if "/objections" in p or "/subscriptions" in p]
    assert len(objection_routes) == OBJECTION_ROUTES, routes
    failures = []
    for method, path in routes:
        if per == "user" and (path in ("/api/mp/login", "/api/mp/logout")
                              or path.startswith("/api/hall")):  # fmt: skip
            continue  # login counts per IP, a window per operator; logout ends the session
        headers = hall if path.startswith("/api/hall") else user_headers
        statuses = await _statuses(client, redis, method, path, headers, LIMIT + 1)
        if 429 in statuses[:LIMIT] or statuses[LIMIT] != 429:
            failures.append(f"{method} {path}: {statuses}")
    assert not failures, "\n".join(failures)


# ---- streaming with caps, over a real socket ----------------------------------------------

BOUNDARY = "abuse-boundary"
MIB = 1024 * 1024


def small_field(i: int) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n').encode()


async def _post_streaming(port: int, headers: dict[str, str], chunks):  # type: ignore[no-untyped-def]
    """Send a request, its body from `chunks`, until the answer arrives; return the status line
    and how many body bytes had been sent by then. The server gets a moment after the headers
    and after each chunk, so that the count is what it needed, not what socket buffers took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST /api/mp/objections HTTP/1.1\r\nHost: t\r\n{head}\r\n".encode())
    answer = asyncio.ensure_future(reader.readline())
    sent = 0
    try:
        await asyncio.wait([answer], timeout=0.5)
        for chunk in chunks:
            if answer.done():
                break
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.wait([answer], timeout=0.01)
        status = await asyncio.wait_for(answer, 10)
    except ConnectionError:
        status = await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
    return status.decode(), sent


def _many_fields(total: int, chunked: bool):  # type: ignore[no-untyped-def]
    """`total` bytes of one-byte fields, 64 KiB at a time (as HTTP chunks when `chunked`)."""
    block = b"".join(small_field(i) for i in range(64 * 1024 // len(small_field(0))))
    for _ in range(total // len(block)):
        yield b"%x\r\n%s\r\n" % (len(block), block) if chunked else block


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_93_mib_body_of_small_fields_is_refused_without_being_read(
    aiohttp_client, settings: Settings, db: str, redis: Redis, chunked: bool
):
    client = await aiohttp_client(create_app(settings))
    user_headers = await token(redis, await bound_user(await enterprise(1)))
    size = 93 * MIB
    headers = {**user_headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    headers |= {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
    started = time.perf_counter()
    status, sent = await _post_streaming(client.port, headers, _many_fields(size, chunked))
    elapsed = time.perf_counter() - started
    print(f"93 MiB {'chunked' if chunked else 'announced'}: answer after {sent / MIB:.2f} MiB "
          f"sent, {elapsed * 1000:.0f} ms: {status.strip()}")  # fmt: skip
    assert status.startswith("HTTP/1.1 400"), status
    # Announced: refused before a byte of it is sent. Chunked: within the first 64 KiB chunk,
    # at its MAX_PARTS + 1st part.
    assert sent == (len(next(_many_fields(size, chunked))) if chunked else 0)


# ---- the reader under every cap (hypothesis) -------------------------------------------

FIELD_SIZES = [0, 1, 100, MAX_FIELD_BYTES, MAX_FIELD_BYTES + 1]
IMAGE_SIZES = [0, 1, 5000, MAX_IMAGE_BYTES, MAX_IMAGE_BYTES + 1]


def _body(parts: list[tuple[str, int]]) -> bytes:
    out = bytearray()
    for i, (kind, size) in enumerate(parts):
        disposition = f'name="images"; filename="p{i}.png"' if kind == "image" else f'name="f{i}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode()
        out += b"a" * size + b"\r\n"
    return bytes(out + f"--{BOUNDARY}--\r\n".encode())


async def _read(body: bytes, announce: bool) -> tuple[dict, list] | str:
    payload = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    for start in range(0, len(body), 256 * 1024):
        payload.feed_data(body[start : start + 256 * 1024])
    payload.feed_eof()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if announce:
        headers["Content-Length"] = str(len(body))
    request = make_mocked_request("POST", "/", headers=headers, payload=payload)
    try:
        form = await read_form(request)
    except InvalidRequest as exc:
        return exc.code
    return form.fields, form.images


def _caps_passed(parts: list[tuple[str, int]], size: int) -> set[str]:
    """Every refusal this form deserves (the reader names the first it meets)."""
    fields = [s for k, s in parts if k == "field"]
    images = [s for k, s in parts if k == "image"]
    passed = set()
    if len(parts) > MAX_PARTS:
        passed.add("too_many_parts")
    if len(images) > MAX_IMAGES:
        passed.add("too_many_images")
    if any(s > MAX_IMAGE_BYTES for s in images):
        passed.add("image_too_large")
    if any(s > MAX_FIELD_BYTES for s in fields) or sum(fields) > MAX_FIELDS_BYTES:
        passed.add("field_too_long")
    if size > MAX_FORM_BYTES or sum(images) + sum(fields) > MAX_FORM_BYTES:
        passed.add("form_too_large")
    return passed


PART = st.one_of(
    st.tuples(st.just("field"), st.sampled_from(FIELD_SIZES)),
    st.tuples(st.just("image"), st.sampled_from(IMAGE_SIZES)),
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(PART, max_size=MAX_PARTS + 3), st.booleans())
def test_the_multipart_reader_keeps_every_cap_and_loses_nothing_within_them(
    parts: list[tuple[str, int]], announce: bool
):
    body = _body(parts)
    outcome = asyncio.run(_read(body, announce))
    deserved = _caps_passed(parts, len(body) if announce else 0)
    if not deserved:
        assert not isinstance(outcome, str), outcome
        fields, images = outcome
        sent_fields = {f"f{i}": size for i, (k, size) in enumerate(parts) if k == "field"}
        assert {k: len(v) for k, v in fields.items()} == sent_fields
        assert [len(data) for _, data in images] == [s for k, s in parts if k == "image"]
    else:
        assert outcome in deserved, (outcome, deserved)
