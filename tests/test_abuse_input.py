"""Abuse: input that once turned into 500s. Deep JSON, lone surrogates, non-ASCII signatures,
against the real app on both databases; and properties of the one JSON reader."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.asyncio import Redis

from handlers.middleware import error_middleware
from infra import strict_json
from services.accounts.department_keys import create_department_key
from services.accounts.operators import create_operator
from services.errors import InvalidRequest
from tests.test_objection_support import bound_user, enterprise, token

# Each route that reads a JSON body, reached past its authentication.
JSON_ROUTES = [
    ("/api/mp/login", None),
    ("/api/mp/reports", "mp"),
    ("/api/mp/bindings", "mp"),
    ("/api/mp/agents", "mp"),
    ("/api/mp/agents/redeem", "mp"),
    ("/api/mp/objections", "mp"),
    ("/api/mp/objections/1/close", "mp"),
    ("/api/mp/subscriptions", "mp"),
    ("/api/hall/reports", "hall"),
    ("/api/dept/objections/1/accept", "dept"),
    ("/api/dept/objections/1/resolve", "dept"),
]
# Within the 64 KiB body limit, yet 20,000 levels deep.
DEEP = b'{"code": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
LONE_SURROGATE = b'{"code": "\\udc00", "uscc": "\\ud800x", "text": "\\udfff"}'


@pytest.fixture
async def callers(cli, redis: Redis) -> dict[str | None, dict[str, str]]:  # type: ignore[no-untyped-def]
    user = await bound_user(await enterprise(1))
    return {
        None: {},
        "mp": await token(redis, user),
        "hall": {"Authorization": f"Bearer {(await create_operator('窗口1', 'hall')).key}"},
        "dept": {"Authorization": f"Bearer {(await create_department_key('samr')).key}"},
    }


@pytest.mark.parametrize("body", [DEEP, LONE_SURROGATE], ids=["deep", "lone-surrogate"])
async def test_every_json_route_answers_400_in_chinese(cli, callers, body: bytes):  # type: ignore[no-untyped-def]
    failures = []
    for path, who in JSON_ROUTES:
        headers = {**callers[who], "Content-Type": "application/json"}
        r = await cli.post(path, data=body, headers=headers)
        answer = await r.json()
        if r.status != 400 or answer["code"] != "invalid_json" or "JSON" not in answer["message"]:
            failures.append(f"{path}: {r.status} {answer}")
    assert not failures, "\n".join(failures)


async def test_a_deep_ndjson_row_is_a_rejected_row_not_a_500(cli, callers):  # type: ignore[no-untyped-def]
    headers = {**callers["dept"], "Content-Type": "application/x-ndjson"}
    body = b"[" * 3000 + b"]" * 3000 + b"\n" + LONE_SURROGATE + b"\n"
    r = await cli.post("/api/dept/records", data=body, headers=headers)
    assert r.status == 200, await r.text()
    rejected = (await r.json())["rejected"]
    codes = [(x["line"], x["code"]) for x in rejected]
    assert codes == [(1, "malformed_json"), (2, "malformed_json")]
    assert "嵌套" in rejected[0]["message"] and "代理项" in rejected[1]["message"]


@pytest.mark.parametrize("signature", ["%C3%A9", "%ED%B0%80", "%00", "é" * 30])
async def test_a_non_ascii_link_signature_is_refused_not_a_500(cli, signature: str):  # type: ignore[no-untyped-def]
    r = await cli.get(f"/r/YX20260101000001.pdf?e=9999999999&s={signature}")
    assert r.status == 403 and (await r.json())["code"] == "link_invalid"


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/api/mp/reports/%C2%B9", "mp"),
        ("/api/mp/objections/%C2%B9", "mp"),
        ("/api/hall/reports/%C2%B2", "hall"),
        ("/api/dept/objections/%C2%B9/events/1/attachments/1", "dept"),
    ],
)
async def test_a_superscript_digit_as_an_id_is_a_plain_404_not_a_500(cli, callers, path, who):  # type: ignore[no-untyped-def]
    r = await cli.get(path, headers=callers[who])
    assert r.status == 404 and (await r.json())["code"] == "not_found", await r.text()


async def test_a_non_ascii_verification_code_is_a_plain_404(cli):  # type: ignore[no-untyped-def]
    r = await cli.get(
        "/verify/YX20260101000001?c=%C3%A9%ED%B0%80", headers={"Accept": "application/json"}
    )
    assert r.status == 404 and (await r.json())["code"] == "report_not_found"


async def test_the_error_handler_answers_even_when_details_cannot_be_encoded(aiohttp_client):  # type: ignore[no-untyped-def]
    async def echo(request: web.Request) -> web.Response:
        raise InvalidRequest("字段有误", code="bad_field", field="\udc00", value=["\ud800"])

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/echo", echo)
    client = await aiohttp_client(app)
    r = await client.get("/echo")
    assert r.status == 400
    answer = json.loads(await r.read())  # valid UTF-8 JSON, the surrogates escaped
    assert answer["code"] == "bad_field" and answer["details"]["field"] == "\udc00"


async def test_405_names_the_allowed_methods(cli):  # type: ignore[no-untyped-def]
    r = await cli.put("/api/mp/reports")
    assert r.status == 405 and set(r.headers["Allow"].split(",")) == {"GET", "POST"}
    assert (await r.json())["code"] == "method_not_allowed"


# ---- properties of the reader ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
PROPERTY = hsettings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(JSON_VALUES)
def test_any_json_value_within_the_depth_reads_back_equal(value: object):
    for ascii_only in (True, False):
        assert strict_json.loads(json.dumps(value, ensure_ascii=ascii_only)) == value


@PROPERTY
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_raise_the_readers_own_error(raw: bytes):
    try:
        strict_json.loads(raw)
    except strict_json.StrictJsonError as exc:
        assert str(exc)  # a Chinese message, never a RecursionError or UnicodeError


@PROPERTY
@given(st.integers(1, 3000), st.sampled_from(["[", '{"a":']), st.text(max_size=5))
def test_nesting_is_refused_past_the_limit_and_strings_do_not_count(
    depth: int, opener: str, filler: str
):
    closer = "]" if opener == "[" else "}"
    text = opener * depth + json.dumps(filler + "[[[[{{{{") + closer * depth
    if depth <= strict_json.MAX_DEPTH:
        assert strict_json.loads(text) is not None
    else:
        with pytest.raises(strict_json.StrictJsonError, match="嵌套"):
            strict_json.loads(text)


@PROPERTY
@given(st.integers(0xD800, 0xDFFF), st.booleans())
def test_a_lone_surrogate_anywhere_is_refused(point: int, as_key: bool):
    escaped = f'"\\u{point:04x}"'
    text = f"{{{escaped}: 1}}" if as_key else f'{{"a": [1, {escaped}]}}'
    with pytest.raises(strict_json.StrictJsonError, match="代理项"):
        strict_json.loads(text)


def test_a_surrogate_pair_is_one_character_and_accepted():
    assert strict_json.loads('"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_non_standard_constants_are_refused(text: str):
    with pytest.raises(strict_json.StrictJsonError):
        strict_json.loads(text)


async def test_an_unknown_expectation_is_refused_in_json(cli):  # type: ignore[no-untyped-def]
    r = await cli.post("/api/mp/login", json={"code": "x"}, headers={"Expect": "]p6"})
    assert r.status == 417
    body = await r.json()
    assert body["code"] == "expectation_failed" and "Expect" in body["message"]
