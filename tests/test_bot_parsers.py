"""The bot's parsers: domains (全部, 1,5,7-9, names) and spans (近三年, 2022年到2024年...)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs import paged
from bot.parse_domains import DomainsNotUnderstood, describe, match_name, parse_domains
from bot.parse_span import SpanNotUnderstood, parse_span
from services.errors import InvalidRequest

TODAY = date(2026, 11, 27)
ALL = list(range(1, 41))


@pytest.mark.parametrize("text", ["全部", "all", "ALL", " 全部 ", "所有领域"])
def test_all_words_choose_the_forty_domains(text: str) -> None:
    assert parse_domains(text) == ALL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,5,7-9", [1, 5, 7, 8, 9]),
        ("1，5，7－9", [1, 5, 7, 8, 9]),  # full-width punctuation from a Chinese keyboard
        ("９、３", [3, 9]),
        ("40 1 1", [1, 40]),
        ("9-7", [7, 8, 9]),
    ],
)
def test_numbers_and_ranges_choose_those_domains(text: str, expected: list[int]) -> None:
    assert parse_domains(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("生态", [15]),  # part of the name 生态环境保护
        ("环保", [15]),  # the everyday word, in no name
        ("生态环境保护领域", [15]),
        ("生太环境保护", [15]),  # a typo
        ("税务、消防", [37, 40]),
        ("生态和税务", [15, 37]),
        ("工业和信息化", [9]),  # 和 inside a name is not a conjunction
        ("住房、工程建设", [16]),  # nor is 、
        ("社保", [13]),
        ("公积金", [36]),
        ("药监", [33]),
        ("15 消防安全", [15, 40]),
    ],
)
def test_names_find_their_domains(text: str, expected: list[int]) -> None:
    assert parse_domains(text) == expected


def test_domain_15_is_found_by_every_word_for_the_environment() -> None:
    for word in ("生态", "环保", "环境", "生态环境"):
        assert match_name(word) == (15,), word


@pytest.mark.parametrize("text", ["41", "0", "火星", "38-45", "¹", ""])
def test_unknown_domains_are_refused_by_name(text: str) -> None:
    with pytest.raises(DomainsNotUnderstood) as caught:
        parse_domains(text)
    if text:
        assert text in caught.value.message
    assert "1至40" in caught.value.message or "没有选择" in caught.value.message


def test_a_name_of_several_domains_asks_which_one() -> None:
    with pytest.raises(DomainsNotUnderstood) as caught:
        parse_domains("金融")
    assert "5 地方金融监管" in caught.value.message
    assert "38 金融管理" in caught.value.message


def test_describe_names_each_domain_or_all() -> None:
    assert describe([1, 15]) == "1 网络信用、15 生态环境保护"
    assert describe(ALL) == "全部40个领域"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("近三年", date(2023, 11, 28), TODAY),
        ("近3年", date(2023, 11, 28), TODAY),
        ("最近 五 年", date(2021, 11, 28), TODAY),
        ("近五年", date(2021, 11, 28), TODAY),
        ("默认", date(2023, 11, 28), TODAY),
        ("2021-01-01至2024-12-31", date(2021, 1, 1), date(2024, 12, 31)),
        ("2021/1/1-2024/12/31", date(2021, 1, 1), date(2024, 12, 31)),
        ("2021年1月1日到2024年12月31日", date(2021, 1, 1), date(2024, 12, 31)),
        ("20210101~20241231", date(2021, 1, 1), date(2024, 12, 31)),
        ("2022年到2024年", date(2022, 1, 1), date(2024, 12, 31)),
        ("2022-2024", date(2022, 1, 1), date(2024, 12, 31)),
        ("2021年3月至2024年6月", date(2021, 3, 1), date(2024, 6, 30)),
        ("2023年", date(2023, 1, 1), date(2023, 12, 31)),
        ("2024年到2026年", date(2024, 1, 1), TODAY),  # this year: until today
        ("2021-01-01至今", date(2021, 1, 1), TODAY),
        ("２０２１－０１－０１至２０２４－１２－３１", date(2021, 1, 1), date(2024, 12, 31)),
    ],
)
def test_spans_as_people_write_them(text: str, start: date, end: date) -> None:
    span = parse_span(text, TODAY)
    assert (span.start, span.end) == (start, end)


@pytest.mark.parametrize("text", ["2019-01-01至2024-12-31", "近十年", "2019年到2021年", "近十二年"])
def test_spans_before_2020_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_span(text, TODAY)
    assert caught.value.code == "span_before_2020"
    assert "2020年1月1日" in caught.value.message


def test_a_span_ending_after_today_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_span("2021-01-01至2026-11-28", TODAY)
    assert caught.value.code == "span_in_future"


def test_a_reversed_span_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_span("2024-01-01至2021-01-01", TODAY)
    assert caught.value.code == "span_reversed"


def test_a_date_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_span("2021-02-30至2022-01-01", TODAY)
    assert caught.value.code == "invalid_date"


@pytest.mark.parametrize("text", ["随便", "去年夏天", "近零年", "2021-01-01至"])
def test_words_that_are_no_span_get_examples(text: str) -> None:
    with pytest.raises(SpanNotUnderstood) as caught:
        parse_span(text, TODAY)
    assert "近三年" in caught.value.message


def test_long_lists_are_split_into_messages_wechat_accepts() -> None:
    lines = [
        f"{i} 【生态环境保护】渝环罚〔2023〕{i}号（2023-05-06，行政处罚（普通程序））"
        for i in range(60)
    ]
    messages = paged("报告中的信息：", lines)
    assert len(messages) > 1
    assert all(len(m.encode()) <= 2048 for m in messages)
    assert "\n".join(messages) == "\n".join(["报告中的信息：", *lines])


def test_a_short_list_is_one_message() -> None:
    assert paged("标题：", ["1 甲", "2 乙"]) == ["标题：\n1 甲\n2 乙"]
