"""GET /api/mp/domains: everything a client needs to draw its report picker."""

from __future__ import annotations

from config.catalogue import DOMAINS


async def test_the_catalogue_has_the_40_domains_with_their_departments_and_the_first_date(cli):
    r = await cli.get("/api/mp/domains")
    assert r.status == 200, await r.text()
    body = await r.json()
    assert [d["number"] for d in body["domains"]] == list(range(1, 41))
    tax = body["domains"][36]
    assert tax["name"] == "税务" and tax["checks_arrears"] is True
    assert tax["check_text"] == DOMAINS[36].check_text
    assert tax["departments"] == [{"code": "tax", "name": "重庆市税务局"}]
    finance = body["domains"][37]
    assert [d["code"] for d in finance["departments"]] == ["pbc", "safe", "nfra"]
    assert body["earliest_date"] == "2020-01-01" and body["default_span_years"] == 3
    assert {p["value"]: p["label"] for p in body["purposes"]}["bond"] == "债券发行"
    assert "税务" in await r.text()  # readable Chinese, not \\u escapes


async def test_a_client_with_the_current_etag_gets_304(cli):
    first = await cli.get("/api/mp/domains")
    etag = first.headers["ETag"]
    again = await cli.get("/api/mp/domains", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    changed = await cli.get("/api/mp/domains", headers={"If-None-Match": '"other"'})
    assert changed.status == 200
