"""Department identity: API keys, kept as hashes, several per department, revocable."""

from __future__ import annotations

import hashlib

from models.department_key import DepartmentKey
from services.accounts.department_keys import create_department_key, revoke_department_key
from tests.test_ingest_support import auth

QUALITY = "/api/dept/quality"


async def test_a_new_key_names_its_department_and_only_its_hash_is_stored(db):
    new = await create_department_key("samr", "nightly export")
    assert new.key.startswith("yc_samr_") and len(new.key) >= len("yc_samr_") + 40
    row = await DepartmentKey.get(id=new.id)
    assert row.key_hash == hashlib.sha256(new.key.encode()).hexdigest()
    stored = await DepartmentKey.all().values_list("key_hash", "display", "label")
    assert all(new.key not in " ".join(values) for values in stored)
    assert new.key.startswith(row.display) and len(row.display) < 20


async def test_a_request_without_a_key_is_refused_with_401(cli):
    r = await cli.get(QUALITY)
    assert r.status == 401, await r.text()
    body = await r.json()
    assert body["code"] == "dept_key_required" and "密钥" in body["message"]


async def test_a_wrong_key_is_refused_with_403(cli):
    await create_department_key("samr")
    r = await cli.get(QUALITY, headers=auth("yc_samr_not-a-real-key"))
    assert r.status == 403, await r.text()
    assert (await r.json())["code"] == "dept_key_invalid"


async def test_a_department_may_hold_several_keys_and_each_works(cli):
    first, second = await create_department_key("samr"), await create_department_key("samr")
    for key in (first.key, second.key):
        r = await cli.get(QUALITY, headers=auth(key))
        assert r.status == 200, await r.text()
        assert (await r.json())["department"]["code"] == "samr"


async def test_a_revoked_key_is_refused_while_the_others_still_work(cli):
    old, new = await create_department_key("samr"), await create_department_key("samr")
    await revoke_department_key(old.id)
    r = await cli.get(QUALITY, headers=auth(old.key))
    assert r.status == 403, await r.text()
    assert "吊销" in (await r.json())["message"]
    r = await cli.get(QUALITY, headers=auth(new.key))
    assert r.status == 200, await r.text()


async def test_a_key_is_created_for_known_departments_only(db):
    from services.errors import NotFound

    try:
        await create_department_key("nope")
    except NotFound as exc:
        assert exc.code == "unknown_department"
    else:
        raise AssertionError("an unknown department must not get a key")
