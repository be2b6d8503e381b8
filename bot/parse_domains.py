"""The report's domains (实施领域) as people type them: 全部, 1,5,7-9, or names such as 生态, 环保.

Names are matched against config/catalogue (names, what is checked, the departments), most exact
first; a few everyday words that the catalogue's own wording does not contain are in SYNONYMS.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from config.catalogue import DOMAINS, DOMAINS_BY_NUMBER, department_names
from services.errors import InvalidRequest

ALL_WORDS = frozenset({"全部", "全选", "所有", "全部领域", "所有领域", "all", "全"})
# Everyday words -> domain numbers, where neither a domain's name nor its check text says it.
SYNONYMS: dict[str, tuple[int, ...]] = {
    "环保": (15,),
    "环境": (15,),
    "污染": (15,),
    "网信": (1,),
    "互联网": (1,),
    "发改": (6,),
    "工信": (9,),
    "公安": (10,),
    "治安": (10,),
    "人社": (13,),
    "社保": (13,),
    "劳动": (13,),
    "国土": (14,),
    "建设": (16,),
    "建筑": (16,),
    "房地产": (16,),
    "城管": (17,),
    "交通": (18,),
    "水利": (19,),
    "农业": (20,),
    "文旅": (22,),
    "旅游": (22,),
    "卫健": (23,),
    "医保": (30,),
    "安全生产": (25,),
    "安监": (25,),
    "市场": (27,),
    "工商": (27,),
    "食品": (27,),
    "药品": (33,),
    "专利": (34,),
    "商标": (34,),
    "版权": (3,),
    "法院": (35,),
    "失信被执行": (35,),
    "公积金": (36,),
    "税": (37,),
    "纳税": (37,),
    "欠税": (37,),
    "银行": (38,),
    "外汇": (38,),
    "保险": (38,),
    "通信": (39,),
    "电信": (39,),
    "消防": (40,),
}
_BOILERPLATE = ("领域有无违法违规信息", "领域有无", "违法违规信息", "有无", "情形")
_SEPARATORS = re.compile(r"[,，;；、/\s]+|以及|还有")
_CONJUNCTIONS = re.compile(r"和|及|与|跟")
_RANGE = re.compile(r"^(\d{1,3})(?:-|~|～|—|－|到|至)(\d{1,3})$")

DOMAINS_HELP = "请回复“全部”，或领域序号（如 1,5,7-9），或领域名称（如 生态环境、税务）"


class DomainsNotUnderstood(InvalidRequest):
    """Some of the domains typed match none, or several, of the 40."""

    code = "unknown_domain"


def _searchable(number: int) -> str:
    """A domain's check text and departments, without the words every domain shares."""
    spec = DOMAINS_BY_NUMBER[number]
    text = spec.check_text + department_names(spec)
    for words in _BOILERPLATE:
        text = text.replace(words, "")
    return text


_TEXTS = {d.number: _searchable(d.number) for d in DOMAINS}


def _is_subsequence(needle: str, haystack: str) -> bool:
    chars = iter(haystack)
    return all(c in chars for c in needle)


def match_name(word: str) -> tuple[int, ...]:
    """The domains a name stands for, by the most exact rule that finds any."""
    word = word.removesuffix("领域").removesuffix("方面").removesuffix("类")
    if not word:
        return ()
    tiers: Iterable[Iterable[int]] = (
        (d.number for d in DOMAINS if d.name == word),
        SYNONYMS.get(word, ()),
        (d.number for d in DOMAINS if word in d.name),
        (d.number for d in DOMAINS if word in _TEXTS[d.number]),
        (d.number for d in DOMAINS if d.name in word),  # 生态环境保护和消防 -> both, via splits
        (d.number for d in DOMAINS if len(word) >= 2 and _is_subsequence(word, d.name)),
    )
    for tier in tiers:
        found = tuple(dict.fromkeys(tier))
        if found:
            return found
    names = {d.name: d.number for d in DOMAINS}
    close = difflib.get_close_matches(word, names, n=2, cutoff=0.6)  # a typo: 生太环境保护
    return tuple(names[n] for n in close)


def _numbers(token: str) -> list[int] | None:
    if token.isdecimal():  # (not isdigit(): int() refuses a superscript ¹)
        return [int(token)]
    matched = _RANGE.match(token)
    if matched is None:
        return None
    low, high = sorted((int(matched.group(1)), int(matched.group(2))))
    return list(range(low, high + 1))


def describe(numbers: Iterable[int]) -> str:
    """1 网络信用、15 生态环境保护 (or 全部40个领域)."""
    numbers = list(numbers)
    if len(numbers) == len(DOMAINS):
        return f"全部{len(DOMAINS)}个领域"
    return "、".join(f"{n} {DOMAINS_BY_NUMBER[n].name}" for n in numbers)


def catalogue_list() -> str:
    """The 40 domains, numbered, one per line."""
    return "\n".join(f"{d.number} {d.name}" for d in DOMAINS)


def _conjoined(token: str) -> tuple[int, ...]:
    """生态和税务: names joined by 和/及/与, unless the whole is one name (工业和信息化)."""
    if any(token in d.name for d in DOMAINS):
        return ()
    parts = [match_name(p) for p in _CONJUNCTIONS.split(token) if p]
    if len(parts) > 1 and all(len(p) == 1 for p in parts):
        return tuple(p[0] for p in parts)
    return ()


def parse_domains(text: str) -> list[int]:
    """Domain numbers, ascending; DomainsNotUnderstood names what could not be matched."""
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789")).strip()
    if text.lower() in ALL_WORDS:
        return sorted(DOMAINS_BY_NUMBER)
    for spec in DOMAINS:  # names that contain a separator: 住房、工程建设
        if _SEPARATORS.search(spec.name):
            text = text.replace(spec.name, str(spec.number))
    chosen: set[int] = set()
    unknown: list[str] = []
    ambiguous: list[str] = []
    for token in (t for t in _SEPARATORS.split(text) if t):
        numbers = _numbers(token)
        if numbers is not None:
            bad = [n for n in numbers if n not in DOMAINS_BY_NUMBER]
            if bad:
                unknown.append(token)
            chosen.update(n for n in numbers if n in DOMAINS_BY_NUMBER)
            continue
        conjoined = _conjoined(token)
        found = conjoined or match_name(token)
        if conjoined or len(found) == 1:
            chosen.update(found)
        elif found:
            ambiguous.append(f"“{token}”可能是：{describe(found)}")
        else:
            unknown.append(token)
    problems = []
    if unknown:
        problems.append(f"没有找到这些领域：{'、'.join(unknown)}（领域序号为1至40）")
    problems += ambiguous
    if problems or not chosen:
        problems = problems or ["没有选择任何领域"]
        raise DomainsNotUnderstood("；".join(problems) + f"。{DOMAINS_HELP}，回复“领域”查看清单")
    return sorted(chosen)
