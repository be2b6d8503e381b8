"""Demo data (演示数据): enterprises, their relations and violation records, for a seed.

`seed_demo(...)` fills a database whose ORM is open and whose catalogue is synced. The same
arguments give the same rows, ids included, every time: all randomness comes from
`random.Random` instances seeded from `seed` (one stream for enterprises, one for records, one
per legal representative), and the only date is `today`, a parameter.

Identifiers are real in form: every USCC passes `stdnum.cn.uscc` with a Chongqing division code
(5001xx/5002xx) and a GB 11714 organisation code; every legal representative has an 18-digit
Chongqing ID number with its ISO 7064 MOD 11-2 check character, stored only as a keyed hash.
`demo_legal_representative(seed, index)` gives the plain name and ID number back, so that a test
or a demo can act as the legal representative of enterprise id ``index + 1``.

Loading uses the bulk paths: COPY on PostgreSQL, executemany in one transaction on SQLite.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
import time
from bisect import bisect
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any, Literal, TypeVar

from stdnum.cn import uscc as stdnum_uscc
from stdnum.iso7064 import mod_11_2
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.timezone import localtime
from tortoise.transactions import in_transaction
from tqdm import tqdm

from config import clock
from config.calendar import CHINA as _BEIJING
from config.catalogue import DEPARTMENTS, DOMAINS, EARLIEST_DATE
from models.audit import AuditEntry
from models.catalogue import Department
from models.enterprise import Enterprise
from models.enums import PenaltyProcedure, RecordKind, RecordStatus, RelationKind
from models.record import Record
from services.audit import append_audit
from services.demo import names as pools
from services.errors import Conflict, InvalidRequest
from services.identity import hash_id_number
from services.ingest.content import content_hash_of as _content_hash
from services.ingest.content import record_content_hash as record_content_hash  # re-exported

T = TypeVar("T")
Row = tuple[Any, ...]

SEED_ACTION = "demo.seeded"
CLEAR_ACTION = "demo.cleared"
CHUNK_SIZE = 20_000  # rows per COPY statement or executemany
# Names are drawn from ~400k combinations; far beyond that, finding a free one gets slow.
MAX_ENTERPRISES = 100_000

ENTERPRISE_COLUMNS = (
    "id",
    "uscc",
    "name",
    "legal_rep_name",
    "legal_rep_id_hash",
    "district",
    "created_at",
)
RELATION_COLUMNS = ("id", "parent_id", "child_id", "kind")
RECORD_COLUMNS = (
    "id",
    "enterprise_id",
    "domain_id",
    "department_id",
    "source_ref",
    "kind",
    "decision_no",
    "authority",
    "decision_date",
    "summary",
    "status",
    "version",
    "content_hash",
    "pushed_at",
    "procedure",
    "status_date",
)
# Rows that hang off enterprises, children first: the order in which replace=True empties them.
DEMO_TABLES = (
    "objection_claim",
    "report_handover",
    "objection_event",
    "objection",
    "report",
    "binding",
    "record",
    "enterprise_relation",
    "enterprise",
)

# Shares that shape the data (each is a probability per draw).
GROUP_DRAW = 0.14  # an enterprise starts a group of 1-5 children: ~10% of enterprises are parents
CLEAN_SHARE = 0.35  # enterprises without any record, the ones whose report is clean
REPAIRED_SHARE = 0.10
REVOKED_SHARE = 0.03
LATE_SHARE = 0.15  # pushed 15-59 days after the decision: over 7 working days late
LOCAL_AUTHORITY_SHARE = 0.6  # decided by a district-level body, where the department has one

_BIRTH_FIRST = date(1962, 1, 1)
_BIRTH_LAST = date(1998, 12, 31)


@dataclass(frozen=True)
class SeedResult:
    status: Literal["seeded", "unchanged"]
    enterprises: int
    relations: int
    records: int
    fingerprint: str  # demo_fingerprint() of the database after the call
    elapsed: float  # seconds


@dataclass(frozen=True)
class DemoPerson:
    name: str
    id_number: str


def _rng(seed: int, stream: str) -> random.Random:
    # A string seed is hashed with SHA-512, so each stream is reproducible in any process.
    return random.Random(f"yucredit-demo:{seed}:{stream}")


def _pick(rng: random.Random, pool: Sequence[T]) -> T:
    return pool[int(rng.random() * len(pool))]


def _expand(weighted: Iterable[tuple[T, int]]) -> tuple[T, ...]:
    """A pool in which each item appears `weight` times, so that a uniform pick is weighted."""
    return tuple(item for item, weight in weighted for _ in range(weight))


# ---------------------------------------------------------------------------------------------
# Identifiers


def demo_legal_representative(seed: int, enterprise_index: int) -> DemoPerson:
    """The legal representative of demo enterprise id ``enterprise_index + 1``, with plain ID.

    The ID number has a Chongqing division code, a birth date in 1962-1998, an order number
    (odd for men, even for women, matching the given name) and the ISO 7064 MOD 11-2 check
    character. Only its keyed hash is stored. (stdnum.cn.ric.is_valid rejects 50xxxx codes with
    birth years before 1997, when Chongqing became a municipality, although such numbers are
    common: first ID cards are issued at 16.)
    """
    rng = _rng(seed, f"person:{enterprise_index}")
    district = rng.choice(pools.DISTRICTS)
    birth = _BIRTH_FIRST + timedelta(days=rng.randrange((_BIRTH_LAST - _BIRTH_FIRST).days + 1))
    order = rng.randrange(1, 1000)
    body = f"{district.code}{birth:%Y%m%d}{order:03d}"
    given_pool = pools.MALE_GIVEN if order % 2 else pools.FEMALE_GIVEN
    given = "".join(rng.choice(given_pool) for _ in range(rng.choice((1, 2, 2))))
    return DemoPerson(rng.choice(pools.SURNAMES) + given, body + mod_11_2.calc_check_digit(body))


def demo_id_number(seed: int, enterprise_index: int) -> str:
    """The plain ID number of demo enterprise ``enterprise_index + 1``'s legal representative."""
    return demo_legal_representative(seed, enterprise_index).id_number


# The demo group's head (docs/miniprogram-api.md's walkthrough): enterprise 18, with
# subsidiaries and a branch.
DEMO_GROUP_HEAD_INDEX = 17


async def demo_binding(
    id_hash_key: str, seed: int = 7, enterprise_id: int = DEMO_GROUP_HEAD_INDEX + 1
) -> dict[str, str] | None:
    """What a newcomer types to bind a demo enterprise (the group's head unless told) as its
    legal representative, if the database holds that demo data (seeded with `seed`, hashed
    under this key); else None."""
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    person = demo_legal_representative(seed, enterprise_id - 1)
    if enterprise is None or enterprise.legal_rep_id_hash != hash_id_number(
        id_hash_key, person.id_number
    ):
        return None
    return {"uscc": enterprise.uscc, "enterprise_name": enterprise.name,
            "legal_rep_name": enterprise.legal_rep_name, "id_number": person.id_number}  # fmt: skip


async def demo_binding_with_records(
    id_hash_key: str, department_code: str, seed: int = 7
) -> dict[str, str] | None:
    """The same for the first demo enterprise holding a record of the department (the group's
    head has none), so that an objection can be tried from the enterprise to that department's
    console."""
    found = await Record.filter(department__code=department_code).order_by("enterprise_id").first()
    if found is None:
        return None
    return await demo_binding(id_hash_key, seed, found.enterprise_id)  # type: ignore[attr-defined]


# The USCC alphabet (GB 32100): digits and capitals without I, O, S, V, Z.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body: str) -> str:
    """A GB 11714 organisation code: 8 characters and their check character (0-9 or X)."""
    # int(c, 36) is the standard's value of a character: 0-9, then A=10 ... Z=35.
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def make_uscc(division_code: str, organisation: str, prefix: str = "91") -> str:
    """A USCC (GB 32100): 9 工商 + 1 企业, division code, organisation code, check character."""
    first17 = prefix + division_code + organisation
    return first17 + stdnum_uscc.calc_check_digit(first17)


def _organisation_body(rng: random.Random) -> str:
    # Codes given since 2015 start with MA; older enterprises kept their numeric codes.
    if rng.random() < 0.7:
        return "MA" + "".join(_pick(rng, _USCC_ALPHABET) for _ in range(6))
    return str(2 + int(rng.random() * 7)) + "".join(str(int(rng.random() * 10)) for _ in range(7))


# ---------------------------------------------------------------------------------------------
# What kinds of records, in which domains, from which departments

_K = RecordKind
KIND_WEIGHTS: dict[RecordKind, int] = {
    _K.ADMINISTRATIVE_PENALTY: 60,
    _K.ADMINISTRATIVE_ENFORCEMENT: 7,
    _K.SERIOUS_DISHONESTY: 4,
    _K.ABNORMAL_OPERATION: 6,
    _K.COURT_JUDGMENT: 5,
    _K.CRIMINAL_PENALTY: 1,
    _K.ARREARS_SOCIAL_INSURANCE: 7,
    _K.ARREARS_TAX: 6,
    _K.ARREARS_HOUSING_FUND: 4,
}
_COURT_DOMAIN = 35
_BUSY_DOMAINS = frozenset({15, 16, 18, 25, 27, 37, 40})  # where penalties are most frequent
# Courts do not impose administrative measures: every domain but 法院执行 does.
_ADMINISTRATIVE = [
    (d.number, 3 if d.number in _BUSY_DOMAINS else 1) for d in DOMAINS if d.number != _COURT_DOMAIN
]
# Arrears come only from the domains that check them (DomainSpec.checks_arrears).
KIND_DOMAINS: dict[RecordKind, tuple[int, ...]] = {
    _K.ADMINISTRATIVE_PENALTY: _expand(_ADMINISTRATIVE),
    _K.ADMINISTRATIVE_ENFORCEMENT: _expand(_ADMINISTRATIVE),
    _K.SERIOUS_DISHONESTY: _expand([*_ADMINISTRATIVE, (_COURT_DOMAIN, 40)]),
    _K.ABNORMAL_OPERATION: (27,),  # 经营异常名录 is kept by market regulation
    _K.COURT_JUDGMENT: (_COURT_DOMAIN,),
    _K.CRIMINAL_PENALTY: (_COURT_DOMAIN,),
    _K.ARREARS_SOCIAL_INSURANCE: (13, 30, 37),
    _K.ARREARS_TAX: (37,),
    _K.ARREARS_HOUSING_FUND: (36,),
}
# The lead department pushes most of a shared domain's records.
DOMAIN_DEPARTMENTS: dict[int, tuple[str, ...]] = {
    d.number: _expand((code, 3 if i == 0 else 1) for i, code in enumerate(d.department_codes))
    for d in DOMAINS
}
_KIND_POOL = _expand(KIND_WEIGHTS.items())

_NUMBER_MARKS: dict[RecordKind, str] = {
    _K.ADMINISTRATIVE_PENALTY: "罚",
    _K.ADMINISTRATIVE_ENFORCEMENT: "强执",
    _K.SERIOUS_DISHONESTY: "失信",
    _K.ABNORMAL_OPERATION: "异",
    _K.ARREARS_SOCIAL_INSURANCE: "欠",
    _K.ARREARS_TAX: "欠",
    _K.ARREARS_HOUSING_FUND: "欠",
}
# Court case types (案件类型代字), by kind: (district court, high court).
_CASE_TYPES: dict[RecordKind, tuple[str, str]] = {
    _K.COURT_JUDGMENT: ("民初", "民终"),
    _K.CRIMINAL_PENALTY: ("刑初", "刑终"),
    _K.SERIOUS_DISHONESTY: ("执", "执"),
}
_AMOUNTS = tuple(f"{a:,}" for a in pools.AMOUNTS)


def _procedure(kind: RecordKind, number: int) -> str | None:
    """One penalty in ten by simple procedure (简易程序), drawn from the decision number so
    that the random stream, and so every other column, stays as it was."""
    if kind is not RecordKind.ADMINISTRATIVE_PENALTY:
        return None
    return PenaltyProcedure.SIMPLE.value if number % 10 == 0 else PenaltyProcedure.ORDINARY.value


def _summary(rng: random.Random, kind: RecordKind, domain: int, day: str) -> str:
    """A short sentence saying what the record is about; `day` is the decision date in Chinese."""
    amount = _pick(rng, _AMOUNTS)
    violation = _pick(rng, pools.VIOLATIONS[domain])
    if kind is _K.ADMINISTRATIVE_PENALTY:
        return f"因{violation}，被处以警告并罚款{amount}元。"
    if kind is _K.ADMINISTRATIVE_ENFORCEMENT:
        return f"因{violation}且逾期不履行行政决定，被依法强制执行{amount}元。"
    if kind is _K.SERIOUS_DISHONESTY:
        if domain == _COURT_DOMAIN:
            return f"因{violation}，被列入失信被执行人名单。"
        return f"因{violation}，情节严重，被列入严重失信主体名单。"
    if kind is _K.ABNORMAL_OPERATION:
        return f"因{_pick(rng, pools.ABNORMAL_REASONS)}，被列入经营异常名录。"
    if kind is _K.COURT_JUDGMENT:
        return f"因{_pick(rng, pools.CIVIL_CASES)}，经判决应支付款项及违约金{amount}元。"
    if kind is _K.CRIMINAL_PENALTY:
        return f"单位犯{_pick(rng, pools.CRIMES)}，被判处罚金{amount}元。"
    if kind is _K.ARREARS_SOCIAL_INSURANCE:
        return f"截至{day}，欠缴{_pick(rng, pools.INSURANCES[domain])}{amount}元。"
    if kind is _K.ARREARS_TAX:
        return f"截至{day}，欠缴{_pick(rng, pools.TAXES)}{amount}元，已责令限期缴纳。"
    return f"截至{day}，欠缴职工住房公积金{amount}元，已责令限期缴存。"


def _city_authority(code: str, name: str) -> str:
    return pools.CITY_AUTHORITIES.get(code) or ("重庆" + name if name.startswith("市") else name)


_CITY_AUTHORITIES = {d.code: _city_authority(d.code, d.name) for d in DEPARTMENTS}
# (department code, district code) -> the district-level body, where the department has one.
_LOCAL_AUTHORITIES = {
    (code, district.code): template.format(d=district.name)
    for code, template in pools.DISTRICT_AUTHORITIES.items()
    for district in pools.DISTRICTS
}


# ---------------------------------------------------------------------------------------------
# The generator


class DemoGenerator:
    """The demo rows for one set of arguments, as tuples in the *_COLUMNS order.

    Enterprises (ids 1..enterprises) and relations are planned on construction; records are
    produced in chunks by record_chunks(), which starts its random stream afresh on each call.
    """

    def __init__(
        self,
        *,
        enterprises: int,
        records: int,
        seed: int,
        id_hash_key: str,
        today: date,
        department_ids: Mapping[str, int],
    ) -> None:
        _check_arguments(enterprises, records, today)
        self.enterprises = enterprises
        self.records = records
        self.seed = seed
        self.today = today
        self._id_hash_key = id_hash_key
        self.department_ids = dict(department_ids)
        self._created_at = datetime(today.year, today.month, today.day, tzinfo=_BEIJING)
        self.enterprise_rows: list[Row] = []
        self.relation_rows: list[Row] = []
        self.districts: list[pools.District] = []  # by enterprise index
        self.usccs: list[str] = []
        self._names: set[str] = set()
        self._uscc_set: set[str] = set()
        self._plan(_rng(seed, "enterprises"))

    # -- enterprises and relations --------------------------------------------------------

    def _plan(self, rng: random.Random) -> None:
        index = 0
        while index < self.enterprises:
            room = self.enterprises - index - 1
            if room and rng.random() < GROUP_DRAW:
                children = min(1 + int(rng.random() * 5), room)
                self._add_group(rng, index, children)
                index += 1 + children
            else:
                self._add_enterprise(rng, index, self._company_name(rng), self._district(rng))
                index += 1

    def _add_group(self, rng: random.Random, index: int, children: int) -> None:
        """A parent (集团) and its children, which share its trade name."""
        while True:
            trade = self._trade_name(rng)
            parent_name = f"重庆{trade}{_pick(rng, pools.GROUP_FORMS)}"
            if self._claim(parent_name):
                break
        self._add_enterprise(rng, index, parent_name, self._district(rng))
        branch_districts: set[str] = set()
        has_controlled = False
        for offset in range(1, children + 1):
            kind = self._relation_kind(rng, has_controlled)
            district = self._district(rng)
            if kind is RelationKind.BRANCH:
                while district.code in branch_districts:
                    district = self._district(rng)
                branch_districts.add(district.code)
                name = f"{parent_name}{district.short}分公司"
                self._claim(name)
            elif kind is RelationKind.CONTROLLING_SHAREHOLDER:
                has_controlled = True  # the parent controls one listed-style company at most
                name = self._company_name(rng, trade, "股份有限公司")
            else:
                name = self._company_name(rng, trade)
            self._add_enterprise(rng, index + offset, name, district)
            relation_id = len(self.relation_rows) + 1
            self.relation_rows.append((relation_id, index + 1, index + offset + 1, kind.value))

    @staticmethod
    def _relation_kind(rng: random.Random, has_controlled: bool) -> RelationKind:
        draw = rng.random()
        if draw < 0.1 and not has_controlled:
            return RelationKind.CONTROLLING_SHAREHOLDER
        return RelationKind.BRANCH if draw < 0.4 else RelationKind.SUBSIDIARY

    def _add_enterprise(
        self, rng: random.Random, index: int, name: str, district: pools.District
    ) -> None:
        uscc = self._new_uscc(rng, district)
        person = demo_legal_representative(self.seed, index)
        id_hash = hash_id_number(self._id_hash_key, person.id_number)
        self.enterprise_rows.append(
            (index + 1, uscc, name, person.name, id_hash, district.name, self._created_at)
        )
        self.districts.append(district)
        self.usccs.append(uscc)

    def _new_uscc(self, rng: random.Random, district: pools.District) -> str:
        while True:
            uscc = make_uscc(district.code, organisation_code(_organisation_body(rng)))
            if uscc not in self._uscc_set:
                self._uscc_set.add(uscc)
                return uscc

    def _company_name(self, rng: random.Random, trade: str = "", suffix: str = "") -> str:
        for attempt in range(1000):
            # A group's trade name may run out of free industries: then any trade name does.
            own_trade = trade if trade and attempt < 50 else self._trade_name(rng)
            industry = _pick(rng, pools.INDUSTRIES)
            name = f"重庆{own_trade}{industry}{suffix or _pick(rng, _SUFFIXES)}"
            if self._claim(name):
                return name
        raise RuntimeError("no free enterprise name left")  # pragma: no cover

    @staticmethod
    def _trade_name(rng: random.Random) -> str:
        while True:
            first, second = _pick(rng, pools.TRADE_CHARS), _pick(rng, pools.TRADE_CHARS)
            name = first + second
            if first != second and name not in pools.RESERVED_TRADE_NAMES:
                return name

    @staticmethod
    def _district(rng: random.Random) -> pools.District:
        return _pick(rng, _DISTRICT_POOL)

    def _claim(self, name: str) -> bool:
        if name in self._names:
            return False
        self._names.add(name)
        return True

    # -- records ------------------------------------------------------------------------

    def record_chunks(self, size: int = CHUNK_SIZE) -> Iterator[list[Row]]:
        """The records, `size` rows at a time, ids 1..records."""
        writer = _RecordWriter(self, _rng(self.seed, "records"))
        done = 0
        while done < self.records:
            count = min(size, self.records - done)
            yield writer.chunk(done + 1, count)
            done += count


_SUFFIXES = _expand(pools.COMPANY_SUFFIXES)
_DISTRICT_POOL = _expand((d, d.weight) for d in pools.DISTRICTS)


class _RecordWriter:
    """Makes record rows; the tables it precomputes keep the per-row work to lookups."""

    def __init__(self, plan: DemoGenerator, rng: random.Random) -> None:
        self.rng = rng
        self.plan = plan
        self.owner_cum = list(accumulate(self._owner_weights(plan.enterprises)))
        span = (plan.today - EARLIEST_DATE).days + 1
        self.days = [EARLIEST_DATE + timedelta(days=i) for i in range(span)]
        self.isos = [d.isoformat() for d in self.days]
        self.years = [str(d.year) for d in self.days]
        self.chinese = [f"{d.year}年{d.month}月{d.day}日" for d in self.days]
        # Pushes happen in office hours, 09:00-16:59 in Beijing (01:00-08:59 UTC).
        self.push_days = [datetime(d.year, d.month, d.day, 1, tzinfo=UTC) for d in self.days]
        self.push_minutes = [timedelta(minutes=m) for m in range(0, 480, 7)]
        self.counters = dict.fromkeys(plan.department_ids, 0)

    def _owner_weights(self, enterprises: int) -> list[float]:
        """How many records each enterprise gets, relatively; a third get none at all."""
        weights = [
            0.0 if self.rng.random() < CLEAN_SHARE else min(self.rng.paretovariate(1.2), 200.0)
            for _ in range(enterprises)
        ]
        if not any(weights):
            weights[0] = 1.0
        return weights

    def chunk(self, first_id: int, count: int) -> list[Row]:
        # Every draw is per row, so that the data do not depend on the chunk size.
        return [self._row(record_id) for record_id in range(first_id, first_id + count)]

    def _row(self, record_id: int) -> Row:
        rng, plan = self.rng, self.plan
        r = rng.random
        owner = bisect(self.owner_cum, r() * self.owner_cum[-1]) + 1
        kind = _pick(rng, _KIND_POOL)
        domain = _pick(rng, KIND_DOMAINS[kind])
        department = _pick(rng, DOMAIN_DEPARTMENTS[domain])
        sequence = self.counters[department] = self.counters[department] + 1
        source_ref = f"DEMO-{department}-{sequence:08d}"
        day = int(r() * len(self.days))
        district = plan.districts[owner - 1]
        local = self._local_authority(department, district)
        authority = local or _CITY_AUTHORITIES[department]
        number = int(r() * 9999) + 1
        decision_no = _decision_no(kind, domain, self.years[day], district, bool(local), number)
        summary = _summary(rng, kind, domain, self.chinese[day])
        status = _status(r())
        procedure = _procedure(kind, number)
        content_hash = _content_hash(
            [
                department,
                source_ref,
                plan.usccs[owner - 1],
                domain,
                kind.value,
                decision_no,
                authority,
                self.isos[day],
                summary,
                status,
                procedure,
            ]
        )
        return (
            record_id,
            owner,
            domain,
            plan.department_ids[department],
            source_ref,
            kind.value,
            decision_no,
            authority,
            self.days[day],
            summary,
            status,
            1,
            content_hash,
            self._pushed_at(day),
            procedure,
            None,  # status_date: the demo's changes carry no date of their own
        )

    def _local_authority(self, department: str, district: pools.District) -> str | None:
        """The district-level body that decided, if the department has one and it did."""
        local = _LOCAL_AUTHORITIES.get((department, district.code))
        return local if local and self.rng.random() < LOCAL_AUTHORITY_SHARE else None

    def _pushed_at(self, day: int) -> datetime:
        r = self.rng.random
        delay = 15 + int(r() * 45) if r() < LATE_SHARE else 1 + int(r() * 5)
        last = len(self.days) - 1
        if day + delay >= last:
            # Not after today: pushed at 01:00 UTC (09:00 in Beijing) today at the latest.
            return self.push_days[last]
        return self.push_days[day + delay] + _pick(self.rng, self.push_minutes)


def _status(draw: float) -> str:
    if draw < REPAIRED_SHARE:
        return RecordStatus.REPAIRED.value
    if draw < REPAIRED_SHARE + REVOKED_SHARE:
        return RecordStatus.REVOKED.value
    return RecordStatus.IN_FORCE.value


def _decision_no(
    kind: RecordKind,
    domain: int,
    year: str,
    district: pools.District,
    local: bool,
    number: int,
) -> str:
    """渝环罚〔2023〕123号 for agencies (the district's short name for district bodies);
    （2023）渝0103民初123号 for courts, 0103 being the district court's code."""
    if domain == _COURT_DOMAIN:
        district_case, high_case = _CASE_TYPES[kind]
        if local:
            return f"（{year}）渝{district.code[2:]}{district_case}{number}号"
        return f"（{year}）渝{high_case}{number}号"
    issuer = district.short if local else "渝"
    return f"{issuer}{pools.DOMAIN_ABBREVIATIONS[domain]}{_NUMBER_MARKS[kind]}〔{year}〕{number}号"


def _check_arguments(enterprises: int, records: int, today: date) -> None:
    if not 1 <= enterprises <= MAX_ENTERPRISES:
        raise InvalidRequest(f"企业数量须在 1 至 {MAX_ENTERPRISES} 之间", code="invalid_seed_size")
    if records < 0:
        raise InvalidRequest("记录数量不能为负数", code="invalid_seed_size")
    if today < EARLIEST_DATE:
        raise InvalidRequest(
            f"截止日期不能早于 {EARLIEST_DATE.isoformat()}", code="invalid_seed_date"
        )


# ---------------------------------------------------------------------------------------------
# Fingerprint


# created_at is bookkeeping (when the row was loaded), not content: it is left out. (It is
# deterministic all the same, midnight of `today` in Beijing, so that the rows are identical.)
FINGERPRINT_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("enterprise", ENTERPRISE_COLUMNS[:-1]),
    ("enterprise_relation", RELATION_COLUMNS),
    ("record", RECORD_COLUMNS),
)
_DATETIME_COLUMNS = frozenset({"pushed_at", "created_at"})
_DATE_COLUMNS = frozenset({"decision_date", "status_date"})
# Columns that may be NULL: read as empty text (SQLite's || would make the whole line NULL).
_NULLABLE_COLUMNS = frozenset({"procedure", "status_date"})
_PAGE_SIZE = 50_000


async def demo_fingerprint(conn: BaseDBAsyncClient | None = None) -> str:
    """sha256 (hex) of the demo tables' rows as stored, read back in id order.

    Each row is one line: its values as text joined by U+001F, dates as YYYY-MM-DD and
    datetimes in UTC as YYYY-MM-DDTHH:MM:SSZ. The database writes the lines (Python only hashes
    them: a million rows take seconds), and the same data give the same fingerprint on SQLite
    and on PostgreSQL.
    """
    conn = conn or connections.get("default")
    hasher = hashlib.sha256()
    for table, columns in FINGERPRINT_COLUMNS:
        hasher.update(f"{table}:{','.join(columns)}\n".encode())
        async for lines in _canonical_lines(conn, table, columns):
            hasher.update(("\n".join(lines) + "\n").encode())
    return hasher.hexdigest()


async def _canonical_lines(
    conn: BaseDBAsyncClient, table: str, columns: Sequence[str]
) -> AsyncIterator[list[str]]:
    """The table's rows as canonical lines, a page at a time, in id order."""
    postgres = _is_postgres(conn)
    values = [_canonical_sql(c, postgres) for c in columns]
    line = (
        f"concat_ws(chr(31), {', '.join(values)})" if postgres else " || char(31) || ".join(values)
    )
    placeholder = "$1" if postgres else "?"
    sql = (
        f'SELECT "id", {line} FROM "{table}" WHERE "id" > {placeholder} '
        f'ORDER BY "id" LIMIT {_PAGE_SIZE}'
    )
    last_id = 0
    while True:
        _, rows = await conn.execute_query(sql, [last_id])
        if not rows:
            return
        yield [row[1] for row in rows]
        last_id = rows[-1][0]


def _canonical_sql(column: str, postgres: bool) -> str:
    """One column as canonical text. (SQLite's date functions read the offset Tortoise stores.)"""
    if column in _NULLABLE_COLUMNS:
        return f"coalesce({_canonical_sql_of(column, postgres)}, '')"
    return _canonical_sql_of(column, postgres)


def _canonical_sql_of(column: str, postgres: bool) -> str:
    quoted = f'"{column}"'
    if column in _DATETIME_COLUMNS:
        if postgres:
            return f"""to_char({quoted} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {quoted})"
    if column in _DATE_COLUMNS:
        return f"to_char({quoted}, 'YYYY-MM-DD')" if postgres else f"date({quoted})"
    return quoted


def _is_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


# ---------------------------------------------------------------------------------------------
# Loading


async def seed_demo(
    *,
    enterprises: int,
    records: int,
    seed: int,
    id_hash_key: str,
    replace: bool = False,
    progress: bool = True,
    today: date | None = None,
) -> SeedResult:
    """Fill the database with demo data; call it with the ORM open and the catalogue synced.

    Running it again with the same arguments returns status "unchanged" without writing, as long
    as the data still match the fingerprint the last "demo.seeded" audit entry recorded. Any
    other data in the demo tables make it raise Conflict (database_not_empty), unless
    replace=True: then those tables (DEMO_TABLES, reports and objections included) are emptied
    first. `today` (default: clock.today()) is the last possible decision date.
    """
    started = time.perf_counter()
    today = today or clock.today()
    _check_arguments(enterprises, records, today)
    params = {"enterprises": enterprises, "records": records, "seed": seed, "today": str(today)}
    has_data = await Enterprise.exists()
    if has_data:
        fingerprint = await _unchanged_fingerprint(params)
        if fingerprint:
            counts = await _counts(connections.get("default"))
            return SeedResult("unchanged", *counts, fingerprint, time.perf_counter() - started)
        if not replace:
            raise Conflict(
                "数据库中已有企业数据，且不是以相同参数生成的演示数据（或已被改动）；"
                "如确需清空企业、记录、报告和异议后重新生成，请使用 replace（--replace）",
                code="database_not_empty",
            )
    department_ids = await _department_ids()
    # Planning hashes an ID number per enterprise (a second for 20,000): a thread keeps the
    # event loop free meanwhile.
    plan = await asyncio.to_thread(
        DemoGenerator,
        enterprises=enterprises,
        records=records,
        seed=seed,
        id_hash_key=id_hash_key,
        today=today,
        department_ids=department_ids,
    )
    async with in_transaction() as conn:
        if has_data:
            await _clear_demo_tables(conn)
        await _write(conn, plan, progress)
        fingerprint = await demo_fingerprint(conn)
        await append_audit(
            "seed", SEED_ACTION, "database", "demo", {**params, "fingerprint": fingerprint}
        )
    elapsed = time.perf_counter() - started
    return SeedResult("seeded", enterprises, len(plan.relation_rows), records, fingerprint, elapsed)


async def _unchanged_fingerprint(params: Mapping[str, Any]) -> str | None:
    """The stored fingerprint, if the last seeding had these parameters and still holds."""
    last = await AuditEntry.filter(action=SEED_ACTION).order_by("-id").first()
    if last is None or any(last.detail.get(k) != v for k, v in params.items()):
        return None
    stored = last.detail.get("fingerprint")
    return stored if stored and stored == await demo_fingerprint() else None


async def _department_ids() -> dict[str, int]:
    ids = dict(await Department.all().values_list("code", "id"))
    missing = [d.code for d in DEPARTMENTS if d.code not in ids]
    if missing:
        raise Conflict(
            "部门目录尚未同步，请先同步实施领域与部门目录后再生成演示数据",
            code="catalogue_not_synced",
            missing=missing,
        )
    return ids


async def _counts(conn: BaseDBAsyncClient) -> tuple[int, int, int]:
    counts = []
    for table in ("enterprise", "enterprise_relation", "record"):
        _, rows = await conn.execute_query(f'SELECT COUNT(*) FROM "{table}"')
        counts.append(int(rows[0][0]))
    return counts[0], counts[1], counts[2]


async def _clear_demo_tables(conn: BaseDBAsyncClient) -> None:
    """Empty DEMO_TABLES, and say so in the audit trail: reports and objections go too."""
    counts = {}
    for table in DEMO_TABLES:
        _, rows = await conn.execute_query(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = int(rows[0][0])
    if _is_postgres(conn):
        # One TRUNCATE of them all: deleting a million rows would fire a million FK checks.
        await conn.execute_script("TRUNCATE " + ", ".join(f'"{t}"' for t in DEMO_TABLES))
    else:
        for table in DEMO_TABLES:
            await conn.execute_query(f'DELETE FROM "{table}"')
    await append_audit("seed", CLEAR_ACTION, "database", "demo", counts)


async def _write(conn: BaseDBAsyncClient, plan: DemoGenerator, progress: bool) -> None:
    total = plan.enterprises + len(plan.relation_rows) + plan.records
    with tqdm(
        total=total, desc="写入演示数据", unit="行", file=sys.stderr, disable=not progress
    ) as bar:
        insert = _copy_postgres if _is_postgres(conn) else _insert_sqlite
        await insert(conn, "enterprise", ENTERPRISE_COLUMNS, [plan.enterprise_rows], bar)
        await insert(conn, "enterprise_relation", RELATION_COLUMNS, [plan.relation_rows], bar)
        await insert(conn, "record", RECORD_COLUMNS, plan.record_chunks(), bar)
        if _is_postgres(conn):
            await _reset_sequences(conn)
            # Fresh tables have no statistics: without them every later query (the
            # fingerprint's pages included) plans a sequential scan and a sort.
            await conn.execute_script('ANALYZE "enterprise", "enterprise_relation", "record"')
        bar.set_description("计算指纹")


async def _copy_postgres(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[str],
    chunks: Iterable[list[Row]],
    bar: tqdm,
) -> None:
    # A COPY per chunk: the foreign-key checks run at the end of each statement, so the server
    # checks one chunk while a thread generates the next.
    async with conn.acquire_connection() as raw, aclosing(_prefetched(chunks)) as stream:
        async for chunk in stream:
            await raw.copy_records_to_table(table, records=chunk, columns=list(columns))
            bar.update(len(chunk))


async def _insert_sqlite(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[str],
    chunks: Iterable[list[Row]],
    bar: tqdm,
) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    async with conn.acquire_connection() as raw, aclosing(_prefetched(chunks)) as stream:
        async for chunk in stream:
            # aiosqlite runs executemany in its own thread: the event loop stays free.
            await raw.executemany(sql, [tuple(map(_sqlite_value, row)) for row in chunk])
            bar.update(len(chunk))


async def _prefetched(chunks: Iterable[list[Row]]) -> AsyncIterator[list[Row]]:
    """The chunks, each generated in a worker thread while the one before is being written.

    Generation is pure Python: in a thread it keeps the event loop free, and it overlaps with
    the database's work. One chunk at a time, in order, so the random stream is unchanged.
    """
    iterator = iter(chunks)
    following = asyncio.ensure_future(asyncio.to_thread(next, iterator, None))
    try:
        while (chunk := await following) is not None:
            following = asyncio.ensure_future(asyncio.to_thread(next, iterator, None))
            yield chunk
    finally:
        # Never leave a thread running inside the generator after the caller has given up.
        await asyncio.wait([following])


def _sqlite_value(value: Any) -> Any:
    # The text Tortoise itself stores: local time with its offset, and ISO dates.
    if isinstance(value, datetime):
        return localtime(value).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _reset_sequences(conn: BaseDBAsyncClient) -> None:
    """COPY with explicit ids leaves the sequences behind: move them past the largest id."""
    for table in ("enterprise", "enterprise_relation", "record"):
        await conn.execute_query(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f'COALESCE((SELECT MAX("id") FROM "{table}"), 0) + 1, false)'
        )


async def database_has_enterprises() -> bool:
    """Whether any enterprise is stored: `make run` seeds demo data only into an empty database."""
    return await Enterprise.exists()
