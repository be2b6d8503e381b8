from models.audit import AuditEntry
from services.audit import GENESIS, append_audit, verify_audit_chain


async def test_audit_entries_chain_to_each_other(db):
    a = await append_audit("ops:alice", "report.issued", "report", "1", {"n": 1})
    b = await append_audit("verifier", "report.verified", "report", "1")
    assert a.prev_hash == GENESIS and b.prev_hash == a.hash
    assert await verify_audit_chain() == []


async def test_an_entry_edited_behind_the_api_is_named(db):
    await append_audit("ops", "report.issued", "report", "1")
    second = await append_audit("ops", "report.downloaded", "report", "1")
    await append_audit("ops", "report.verified", "report", "1")
    await AuditEntry.filter(id=second.id).update(actor="mallory")
    breaks = await verify_audit_chain()
    assert [b.entry_id for b in breaks] == [second.id]
    assert "哈希不符" in breaks[0].reason
