"""Keeps the Domain and Department tables equal to config.catalogue."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from config.catalogue import DEPARTMENTS, DOMAINS
from models.catalogue import Department, Domain, DomainOwnership


async def sync_catalogue() -> None:
    """Insert or update the 40 domains and their departments. Safe to run any number of times."""
    async with in_transaction():
        departments: dict[str, Department] = {}
        for spec in DEPARTMENTS:
            dept, _ = await Department.update_or_create(
                code=spec.code, defaults={"name": spec.name}
            )
            departments[spec.code] = dept
        for spec in DOMAINS:
            await Domain.update_or_create(
                number=spec.number,
                defaults={
                    "name": spec.name,
                    "check_text": spec.check_text,
                    "checks_arrears": spec.checks_arrears,
                },
            )
            await DomainOwnership.filter(domain_id=spec.number).delete()
            await DomainOwnership.bulk_create(
                [
                    DomainOwnership(
                        domain_id=spec.number, department=departments[code], lead_order=i
                    )
                    for i, code in enumerate(spec.department_codes)
                ]
            )
