"""The objection endpoints: the enterprise's (/api/mp/objections) and the department's
(/api/dept/objections), who may see and do what, and attachments over HTTP."""

from __future__ import annotations

import dataclasses
import io

import aiohttp
import pytest
from redis.asyncio import Redis

from config.settings import Settings
from infra.storage import open_store
from models.enums import ObjectionStatus
from models.objection import Objection, ObjectionEvent
from models.record import Record
from models.record_version import RecordVersion
from models.user import SubscriptionGrant
from services.accounts.department_keys import create_department_key
from tests.test_objection_support import (
    JPEG,
    PNG,
    bound_user,
    enterprise,
    notify_jobs,
    record,
    token,
)


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")


async def dept(code: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await create_department_key(code)).key}"}


def form(fields: dict, images: list[tuple[str, bytes]] = ()) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, str(value))
    for name, content in images:
        data.add_field(  # a stream: aiohttp refuses bytes this large as a value
            "images", io.BytesIO(content), filename=name, content_type="application/octet-stream"
        )
    return data


@pytest.fixture
async def world(cli, redis: Redis):  # type: ignore[no-untyped-def]
    """Two enterprises with a bound user each; a samr record of the first."""
    ent, other = await enterprise(1), await enterprise(2)
    user, stranger = await bound_user(ent), await bound_user(other)
    return {
        "ent": ent,
        "other": other,
        "user": await token(redis, user),
        "user_id": user.id,
        "stranger": await token(redis, stranger),
        "record": await record(ent),
    }


async def raise_objection(cli, world, **fields):  # type: ignore[no-untyped-def]
    fields.setdefault("enterprise_id", world["ent"].id)
    fields.setdefault("kind", "correction")
    fields.setdefault("text", "处罚决定书文号有误")
    fields.setdefault("record_id", world["record"].id)
    images = fields.pop("images", [])
    resp = await cli.post("/api/mp/objections", data=form(fields, images), headers=world["user"])
    return resp.status, await resp.json()


async def test_an_enterprise_raises_an_objection_with_images_and_reads_its_timeline(cli, world):
    status, body = await raise_objection(cli, world, images=[("a.png", PNG), ("b.jpg", JPEG)])
    assert status == 201, body
    assert body["ticket_no"].startswith("YY") and body["query_code"]
    assert body["status"] == {"code": "submitted", "label": "已提交"}
    assert (
        body["department"]["name"] == "市市场监管局" and body["record"]["id"] == world["record"].id
    )
    assert [a["name"] for a in body["attachments"]] == ["a.png", "b.jpg"]
    assert "path" not in body["attachments"][0]
    event = body["timeline"][0]
    assert event["action"] == "submit" and event["actor"] == "企业"
    image = await cli.get(
        f"/api/mp/objections/{body['id']}/events/{event['id']}/attachments/2", headers=world["user"]
    )
    assert image.status == 200 and await image.read() == JPEG
    assert image.content_type == "image/jpeg"
    listed = await (await cli.get("/api/mp/objections", headers=world["user"])).json()
    assert [o["id"] for o in listed["items"]] == [body["id"]]


async def test_an_enterprise_never_sees_another_enterprises_tickets(cli, world):
    _, body = await raise_objection(cli, world, images=[("a.png", PNG)])
    strange = world["stranger"]
    assert (await (await cli.get("/api/mp/objections", headers=strange)).json())["items"] == []
    for path in (
        f"/api/mp/objections/{body['id']}",
        f"/api/mp/objections/{body['id']}/events/{body['timeline'][0]['id']}/attachments/1",
    ):
        resp = await cli.get(path, headers=strange)
        assert resp.status == 404 and (await resp.json())["code"] == "objection_not_found"
    resp = await cli.post(f"/api/mp/objections/{body['id']}/close", headers=strange)
    assert resp.status == 404
    # Nor raise one for an enterprise it is not bound to, nor about its record.
    status, answer = await raise_objection(cli, {**world, "user": strange})
    assert status == 403 and answer["code"] == "not_authorised"
    assert (await cli.get("/api/mp/objections")).status == 401


# Caps are 400; a file that is not the image its name says, 422 (the document allows any bytes).
@pytest.mark.parametrize(
    ("images", "status", "code"),
    [
        ([("说明.png", b"MZ\x90\x00 an executable")], 422, "image_not_supported"),
        ([("大图.jpg", JPEG + b"\0" * (10 * 1024 * 1024))], 400, "image_too_large"),
        ([("截图.jpg", PNG)], 422, "image_extension_mismatch"),
        ([(f"{i}.png", PNG) for i in range(10)], 400, "too_many_images"),
    ],
)
async def test_bad_attachments_are_refused_with_a_clear_error_and_no_ticket(
    cli, world, settings, images, status, code
):
    answered, body = await raise_objection(cli, world, images=images)
    assert answered == status and body["code"] == code, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])  # Chinese
    assert await Objection.all().count() == 0 and await ObjectionEvent.all().count() == 0
    assert await open_store(settings, area="objections").names() == []


async def test_a_department_cannot_see_or_act_on_a_ticket_routed_to_another(cli, world):
    _, body = await raise_objection(cli, world)  # routed to samr
    drugs, samr = await dept("drugs"), await dept("samr")
    base = f"/api/dept/objections/{body['id']}"
    assert (await (await cli.get("/api/dept/objections", headers=drugs)).json())["items"] == []
    resp = await cli.get(base, headers=drugs)
    assert resp.status == 403 and (await resp.json())["code"] == "objection_not_routed_here"
    for action, payload in [
        ("accept", {}),
        ("reject", {"note": "x"}),
        ("resolve", {"resolution": "corrected", "record": {"decision_no": "渝市监罚〔2024〕13号"}}),
        ("handover", {"department": "drugs"}),
    ]:
        resp = await cli.post(f"{base}/{action}", json=payload, headers=drugs)
        assert resp.status == 403, action
    event = body["timeline"][0]["id"]
    resp = await cli.get(f"{base}/events/{event}/attachments/1", headers=drugs)
    assert resp.status == 403
    assert (await Objection.get(id=body["id"])).status == ObjectionStatus.SUBMITTED
    assert (await cli.get("/api/dept/objections")).status == 401
    listed = await (await cli.get("/api/dept/objections", headers=samr)).json()
    assert [o["ticket_no"] for o in listed["items"]] == [body["ticket_no"]]
    assert listed["items"][0]["enterprise"]["uscc"] == world["ent"].uscc
    assert "query_code" not in listed["items"][0]


async def test_resolving_a_correction_versions_and_chains_the_record(cli, world, redis):
    _, body = await raise_objection(cli, world)
    samr = await dept("samr")
    base = f"/api/dept/objections/{body['id']}"
    resp = await cli.post(f"{base}/accept", json={"note": "已受理，正在核查"}, headers=samr)
    assert resp.status == 200 and (await resp.json())["status"]["code"] == "accepted"
    correction = {"resolution": "corrected", "record": {"decision_no": "渝市监罚〔2024〕21号"}}
    resp = await cli.post(f"{base}/resolve", json=correction, headers=samr)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["resolution"]["label"] == "已更正" and answer["record"]["version"] == 2
    rec = await Record.get(id=world["record"].id)
    assert rec.decision_no == "渝市监罚〔2024〕21号" and rec.version == 2
    versions = await RecordVersion.filter(record_id=rec.id).order_by("version")
    assert [v.version for v in versions] == [1, 2]  # the seeded content logged first
    assert versions[1].content_hash == rec.content_hash
    assert versions[1].prev_hash == versions[0].hash
    # A resolution that changes nothing, or a field that may not be changed, is refused (422:
    # the document allows any record object, the ingestion rules refuse these).
    _, second = await raise_objection(cli, world)
    base2 = f"/api/dept/objections/{second['id']}"
    await cli.post(f"{base2}/accept", json={}, headers=samr)
    for record_changes, code in [
        ({"decision_no": "渝市监罚〔2024〕21号"}, "record_unchanged"),
        ({"uscc": world["other"].uscc}, "record_field_not_editable"),
        ({"decision_date": "2019-05-01"}, "date_before_2020"),
        ({}, "record_changes_required"),
    ]:
        payload = {"resolution": "corrected", "record": record_changes}
        resp = await cli.post(f"{base2}/resolve", json=payload, headers=samr)
        assert resp.status == 422 and (await resp.json())["code"] == code, record_changes
    assert (await Record.get(id=rec.id)).version == 2
    assert len(await notify_jobs(redis)) == 5  # submit, accept, resolve; submit, accept


async def test_a_department_lists_by_status_and_hands_over_within_a_domain(cli, world):
    rec = await record(world["ent"], department="samr", domain=33, ref="R-33")
    _, one = await raise_objection(cli, world, record_id=rec.id)
    _, two = await raise_objection(cli, world)
    samr, drugs = await dept("samr"), await dept("drugs")
    await cli.post(f"/api/dept/objections/{two['id']}/accept", json={}, headers=samr)
    accepted = await (await cli.get("/api/dept/objections?status=accepted", headers=samr)).json()
    assert [o["id"] for o in accepted["items"]] == [two["id"]]
    none_late = await (await cli.get("/api/dept/objections?overdue=true", headers=samr)).json()
    assert none_late["items"] == []
    assert (await cli.get("/api/dept/objections?status=lost", headers=samr)).status == 400
    resp = await cli.post(f"/api/dept/objections/{one['id']}/handover",
                          json={"department": "drugs", "note": "转药监"}, headers=samr)  # fmt: skip
    assert resp.status == 200
    assert (await cli.get(f"/api/dept/objections/{one['id']}", headers=samr)).status == 403
    mine = await (await cli.get(f"/api/dept/objections/{one['id']}", headers=drugs)).json()
    assert mine["department"]["code"] == "drugs"
    assert mine["timeline"][-1]["handed_to"] == {"code": "drugs", "name": "市药监局"}
    seen = await (await cli.get(f"/api/mp/objections/{one['id']}", headers=world["user"])).json()
    assert seen["timeline"][-1]["action_label"] == "转交"


async def test_the_enterprise_closes_a_resolved_ticket(cli, world):
    _, body = await raise_objection(cli, world, kind="detail", text="请提供处罚详情")
    samr = await dept("samr")
    base = f"/api/dept/objections/{body['id']}"
    await cli.post(f"{base}/accept", json={}, headers=samr)
    resp = await cli.post(f"{base}/resolve", json={"resolution": "answered"}, headers=samr)
    assert (
        resp.status == 422 and (await resp.json())["code"] == "text_required"
    )  # an answer needs a note
    resp = await cli.post(f"{base}/resolve", headers=samr,
                          json={"resolution": "answered", "note": "详见决定书全文。"})  # fmt: skip
    assert resp.status == 200
    resp = await cli.post(f"/api/mp/objections/{body['id']}/close", headers=world["user"])
    closed = await resp.json()
    assert resp.status == 200 and closed["status"]["code"] == "closed" and closed["closed_at"]
    resp = await cli.post(f"/api/mp/objections/{body['id']}/close", headers=world["user"])
    assert resp.status == 409 and (await resp.json())["code"] == "invalid_transition"


async def test_subscribe_grants_are_counted_per_user_and_template(cli, world):
    headers = world["user"]
    for count, remaining in ((1, 1), (2, 3)):
        resp = await cli.post("/api/mp/subscriptions", headers=headers,
                              json={"template_id": "TPL-objection", "count": count})  # fmt: skip
        assert resp.status == 200 and (await resp.json())["remaining"] == remaining
    grant = await SubscriptionGrant.get(user_id=world["user_id"], template_id="TPL-objection")
    assert grant.remaining == 3
    for payload in ({"template_id": "", "count": 1}, {"template_id": "T", "count": 0},
                    {"template_id": "T", "count": "many"}):  # fmt: skip
        resp = await cli.post("/api/mp/subscriptions", json=payload, headers=headers)
        assert resp.status == 400
    assert (await cli.post("/api/mp/subscriptions", json={"template_id": "T"})).status == 401


async def test_an_enterprise_lists_the_records_it_may_object_to(cli, world):
    await record(world["ent"], ref="R-revoked", status="revoked")
    await record(world["other"], ref="R-other")
    url = f"/api/mp/objections/records?enterprise_id={world['ent'].id}"
    body = await (await cli.get(url, headers=world["user"])).json()
    assert [r["id"] for r in body["items"]] == [world["record"].id]
    assert body["items"][0]["decision_no"] == "渝市监罚〔2024〕12号"
    assert (await cli.get(url, headers=world["stranger"])).status == 403
    assert (await cli.get(f"{url}&domain=33", headers=world["user"])).status == 200
    assert (await cli.get("/api/mp/objections/records", headers=world["user"])).status == 400


async def test_a_department_may_attach_images_and_send_the_record_as_multipart(cli, world):
    _, body = await raise_objection(cli, world, kind="repair", text="已整改")
    samr = await dept("samr")
    base = f"/api/dept/objections/{body['id']}"
    await cli.post(f"{base}/accept", data=form({"note": "受理"}), headers=samr)
    fields = {"resolution": "repaired", "note": "准予修复", "record": '{"summary": "已整改到位。"}'}
    resp = await cli.post(f"{base}/resolve", data=form(fields, [("修复决定.jpg", JPEG)]),
                          headers=samr)  # fmt: skip
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["record"]["status"] == "已修复" and answer["record"]["summary"] == "已整改到位。"
    resolved = answer["timeline"][-1]
    assert resolved["attachments"][0]["name"] == "修复决定.jpg"
    image = await cli.get(f"/api/mp/objections/{body['id']}/events/{resolved['id']}/attachments/1",
                          headers=world["user"])  # fmt: skip
    assert await image.read() == JPEG
    bad = form({"resolution": "repaired", "record": "[1, 2]"})
    _, other = await raise_objection(cli, world, kind="repair", text="再次申请")
    await cli.post(f"/api/dept/objections/{other['id']}/accept", json={}, headers=samr)
    resp = await cli.post(f"/api/dept/objections/{other['id']}/resolve", data=bad, headers=samr)
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_json"


async def test_a_malformed_multipart_form_or_an_oversized_id_is_a_4xx_not_a_500(cli, world):
    """Found by schemathesis: a part header that is not valid HTTP, and ids past 64 bits."""
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="\xf7\x15"\r\n\r\n1\r\n'
        f"--{boundary}--\r\n"
    ).encode("latin-1")
    headers = {**world["user"], "Content-Type": f"multipart/form-data; boundary={boundary}"}
    resp = await cli.post("/api/mp/objections", data=body, headers=headers)
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_form"
    huge = "9" * 30
    resp = await cli.get(f"/api/mp/objections/{huge}", headers=world["user"])
    assert resp.status == 404
    samr = await dept("samr")
    for path in (f"/api/dept/objections/{huge}", f"/api/dept/objections/{huge}/accept"):
        method = cli.get if path.endswith(huge) else cli.post
        assert (await method(path, headers=samr)).status == 404, path


@pytest.mark.parametrize("value", ["-34825029308665", "99999999999", "0", "1.5", "²"])
async def test_an_enterprise_id_no_column_holds_is_a_400(cli, world, value):
    """Found by schemathesis on PostgreSQL: an id past 32 bits failed in the database (500)."""
    status, body = await raise_objection(cli, world, enterprise_id=value)
    assert status == 400 and body["code"] == "invalid_number", body
    url = f"/api/mp/objections/records?enterprise_id={world['ent'].id}&domain={value}"
    resp = await cli.get(url, headers=world["user"])
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_number"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("enterprise_id=", "invalid_number"),
        ("enterprise_id={ent}&domain=", "invalid_number"),
        ("enterprise_id={ent}&domain=41", "unknown_domain"),
    ],
)
async def test_an_empty_or_unknown_query_id_is_a_400_not_an_empty_list(cli, world, query, code):
    url = "/api/mp/objections/records?" + query.format(ent=world["ent"].id)
    resp = await cli.get(url, headers=world["user"])
    assert resp.status == 400 and (await resp.json())["code"] == code, url


async def test_a_nul_character_in_a_field_or_a_file_name_is_a_400(cli, world):
    """Found by schemathesis on PostgreSQL, which stores no NUL in text (it was a 500)."""
    resp = await cli.post(
        "/api/mp/subscriptions", json={"template_id": "t\x00"}, headers=world["user"]
    )
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_character"
    status, body = await raise_objection(cli, world, text="有误\x00")
    assert status == 400 and body["code"] == "invalid_character"
    fields = {"enterprise_id": world["ent"].id, "kind": "correction", "text": "有误",
              "record_id": world["record"].id}  # fmt: skip
    parts = [f'Content-Disposition: form-data; name="{k}"\r\n\r\n{v}'.encode()
             for k, v in fields.items()]  # fmt: skip
    # A file name percent-encoded as some clients send it: unquoted, it holds a NUL.
    parts.append(
        b'Content-Disposition: form-data; name="images"; filename="a%00.png"\r\n\r\n' + PNG
    )
    body = b"".join(b"--b0undary\r\n" + p + b"\r\n" for p in parts) + b"--b0undary--\r\n"
    headers = {**world["user"], "Content-Type": "multipart/form-data; boundary=b0undary"}
    resp = await cli.post("/api/mp/objections", data=body, headers=headers)
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_character"
    assert await Objection.all().count() == 0


# A form names only the fields its document lists: a part's name travels in a header, where not
# every name a schema could allow can be written, so the document closes its forms.
@pytest.mark.parametrize(
    ("name", "code"),
    [(b"colour", "unknown_field"), (b"", "unknown_field"), (b"note\x0f", "invalid_form")],
)
async def test_a_form_with_a_field_its_document_does_not_list_is_refused_and_stores_nothing(
    cli, world, name, code
):
    fields = {"enterprise_id": world["ent"].id, "kind": "correction", "text": "文号有误",
              "record_id": world["record"].id}  # fmt: skip
    parts = [(k.encode(), str(v).encode()) for k, v in fields.items()] + [(name, b"x")]
    body = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="' + k + b'"\r\n\r\n' + v + b"\r\n"
        for k, v in parts
    )
    headers = {**world["user"], "Content-Type": "multipart/form-data; boundary=b"}
    resp = await cli.post("/api/mp/objections", data=body + b"--b--\r\n", headers=headers)
    assert resp.status == 400 and (await resp.json())["code"] == code, await resp.text()
    assert await Objection.all().count() == 0


async def test_a_url_encoded_form_with_an_unlisted_field_is_refused(cli, world):
    _, body = await raise_objection(cli, world)
    samr = await dept("samr")
    resp = await cli.post(f"/api/dept/objections/{body['id']}/accept", data={"note": "受理",
                          "priority": "high"}, headers=samr)  # fmt: skip
    answer = await resp.json()
    assert resp.status == 400 and answer["code"] == "unknown_field", answer
    assert "priority" in answer["message"]
    accepted = await cli.post(f"/api/dept/objections/{body['id']}/accept", data={"note": "受理"},
                              headers=samr)  # fmt: skip
    assert accepted.status == 200, await accepted.text()


async def test_a_multipart_resolution_carries_the_record_as_json(cli, world):
    _, body = await raise_objection(cli, world)
    samr = await dept("samr")
    base = f"/api/dept/objections/{body['id']}"
    await cli.post(f"{base}/accept", json={}, headers=samr)
    changes = '{"decision_no": "渝市监罚〔2024〕99号"}'
    data = form({"resolution": "corrected", "note": "已更正", "record": changes}, [("a.png", PNG)])
    resp = await cli.post(f"{base}/resolve", data=data, headers=samr)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["record"]["decision_no"] == "渝市监罚〔2024〕99号"
    assert answer["timeline"][-1]["attachments"][0]["name"] == "a.png"
