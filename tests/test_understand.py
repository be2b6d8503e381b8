"""bot.understand on its own: intents, slots, policy answers with their sources, the evaluation
thresholds, `run.py bot understand`, and the speed benchmark at a tiny size."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bench import understand as bench_understand
from bot.understand import INTENTS, understand
from bot.understand import faq as faq_module
from bot.understand.evaluation import evaluate, load
from bot.understand.facts import facts
from bot.understand.faq import UNANSWERED, policy_file, policy_passages
from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)
POLICY_NO = "渝府办发〔2024〕89号"


def meant(text: str) -> tuple[str, dict[str, object]]:
    got = understand(text, TODAY)
    return got.intent, got.slots


def test_the_evaluation_set_meets_its_thresholds() -> None:
    rows = load()
    assert len(rows) >= 300
    assert {row["intent"] for row in rows} == set(INTENTS)
    scores = evaluate(rows)
    failures = "\n".join(json.dumps(m, ensure_ascii=False) for m in scores.misses)
    assert scores.intent_accuracy >= 0.95, failures
    assert scores.slot_accuracy >= 0.90, failures
    assert scores.questions >= 50 and scores.fact_accuracy >= 0.90, failures


def test_the_evaluation_counts_a_wrong_slot_and_a_missing_fact_as_misses() -> None:
    rows = [
        {"text": "开报告要钱吗", "intent": "faq", "slots": {}, "facts": ["要收费"]},
        {"text": "开一份近三年的报告", "intent": "report", "slots": {"years": 5}},
        {"text": "进度", "intent": "progress", "slots": {}},
    ]
    scores = evaluate(rows, TODAY)
    assert (scores.intents_right, scores.slots_right, scores.facts_right) == (3, 2, 0)
    assert len(scores.misses) == 2


@pytest.mark.parametrize(
    "text, intent",
    [
        ("我要开信用报告", "report"),
        ("我想对报告里的处罚提异议", "objection"),
        ("进度怎么样了", "progress"),
        ("查报告", "progress"),
        ("1", "report"),
        ("４", "progress"),
        ("信用修复", "repair"),
        ("不办了", "cancel"),
        ("菜单", "help"),
        ("今天天气怎么样", "unknown"),
        ("", "unknown"),
    ],
)
def test_intents(text: str, intent: str) -> None:
    assert meant(text)[0] == intent


def test_a_whole_request_fills_its_slots() -> None:
    assert meant("帮我开一份近三年生态环境和税务的报告，用于发债") == (
        "report",
        {"domains": [15, 37], "years": 3, "purpose": "bond"},
    )
    assert meant("开个近五年的报告，全部领域，新三板挂牌")[1] == {
        "domains": "all",
        "years": 5,
        "purpose": "listing",
    }


@pytest.mark.parametrize(
    "text, span",
    [
        ("近两年", {"years": 2}),
        ("最近3年", {"years": 3}),
        ("过去十年", {"years": 10}),
        ("2022年到2024年", {"from": "2022-01-01", "to": "2024-12-31"}),
        ("二〇二二年至二〇二三年", {"from": "2022-01-01", "to": "2023-12-31"}),
        ("２０２１－０１－０１至２０２４－１２－３１", {"from": "2021-01-01", "to": "2024-12-31"}),
        ("2021年3月至2024年6月", {"from": "2021-03-01", "to": "2024-06-30"}),
        ("去年", {"from": "2025-01-01", "to": "2025-12-31"}),
        ("今年", {"from": "2026-01-01", "to": "2026-11-27"}),
        ("2024年到2026年", {"from": "2024-01-01", "to": "2026-11-27"}),  # not past today
        ("2023年以来", {"from": "2023-01-01", "to": "2026-11-27"}),
        ("2023年2月30日至2024年", {}),  # no such day: nothing, the dialog asks again
    ],
)
def test_spans_with_numerals_ranges_and_relative_years(text: str, span: dict[str, str]) -> None:
    slots = meant(f"开报告，{text}")[1]
    assert {k: v for k, v in slots.items() if k in ("years", "from", "to")} == span


@pytest.mark.parametrize(
    "text, domains",
    [
        ("环保和社保", [13, 15]),
        ("市场监管局的", [27]),  # the department that leads 27 (it also helps with 33 and 34)
        ("基本建设投资", [6]),  # not 建设 (16)
        ("住房公积金", [36]),
        ("金融", None),  # two domains: left to the domain question
        ("所有领域", "all"),
    ],
)
def test_domains_from_names_departments_and_everyday_words(
    text: str, domains: list[int] | str | None
) -> None:
    assert meant(f"开报告，{text}")[1].get("domains") == domains


@pytest.mark.parametrize(
    "text, purpose",
    [("IPO用", "listing"), ("发债", "bond"), ("债务融资工具", "bond"), ("定增", "refinancing"),
     ("资产重组", "merger"), ("上市版", None)],
)  # fmt: skip
def test_purposes(text: str, purpose: str | None) -> None:
    assert meant(f"开报告 {text}")[1].get("purpose") == purpose


def test_codes_numbers_and_usccs() -> None:
    assert meant("验证 YX20261127000001 ABCD2345")[1] == {
        "report_no": "YX20261127000001",
        "code": "ABCD2345",
    }
    assert meant("授权码：k7m2-p9q4-x3w8") == ("bind", {"code": "K7M2P9Q4X3W8"})
    assert meant("９１５００１０３ＭＡ５Ｕ７Ｒ６Ｐ０Ｘ") == ("bind", {"uscc": "91500103MA5U7R6P0X"})


def test_understanding_is_pure() -> None:
    first = understand("帮我开一份近三年生态环境和税务的报告", TODAY)
    assert understand("帮我开一份近三年生态环境和税务的报告", TODAY) == first
    assert understand("去年", date(2025, 6, 1)).slots == {"from": "2024-01-01", "to": "2024-12-31"}


@pytest.mark.parametrize(
    "question, fact, section",
    [
        ("开报告要钱吗", "免费", "三、(三)"),
        ("数据多久更新", "7个工作日", "三、(一)"),
        ("数据从哪年开始有", "2020年1月1日", "三、(一)"),
        ("一共有几个领域", "40个", "附件"),
        ("数据错了谁负责", "谁提供谁负责", "四、(二)"),
        ("关联企业能一起开吗", "关联企业", "二"),
    ],
)
def test_policy_questions_are_answered_and_cite_the_policy(
    question: str, fact: str, section: str
) -> None:
    got = understand(question, TODAY)
    assert got.intent == "faq" and fact in got.answer
    assert got.answer.endswith(f"（依据{POLICY_NO} {section}）")


def test_a_question_the_policy_does_not_answer_is_not_guessed() -> None:
    for question in ("报告有效期多久", "你们领导是谁", "个体户能开吗"):
        assert understand(question, TODAY).answer == UNANSWERED


def test_every_fact_cites_a_section_the_policy_has() -> None:
    path = policy_file()
    assert path is not None
    number, passages = policy_passages(path.read_text(encoding="utf-8"))
    assert number == POLICY_NO
    sections = {p.source.removeprefix(f"{number} ") for p in passages} | {"附件"}
    assert {"一", "二", "三、(一)", "三、(三)", "四、(二)", "四、(三)"} <= sections
    for fact in facts(Settings()):
        assert fact.section in sections, fact.key


def test_the_policy_comes_from_shared_or_else_the_repositorys_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared" / "seed"
    shared.mkdir(parents=True)
    (shared / "policy-x.txt").write_text("x", encoding="utf-8")
    copy = ROOT / "tests" / "data"
    monkeypatch.setattr(faq_module, "POLICY_DIRS", (shared, copy))
    assert policy_file() == shared / "policy-x.txt"
    monkeypatch.setattr(faq_module, "POLICY_DIRS", (tmp_path / "missing", copy))
    assert policy_file() == copy / "policy-yufubanfa-2024-89.txt"


def test_run_py_bot_understand_prints_one_json_object_per_line(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("查报告\n\n今天天气怎么样\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "run.py", "bot", "understand", "开报告要钱吗", "--file", str(lines)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["text"], r["intent"]) for r in rows] == [
        ("开报告要钱吗", "faq"),
        ("查报告", "progress"),
        ("今天天气怎么样", "unknown"),
    ]
    assert all(set(r) == {"text", "intent", "slots", "answer"} for r in rows)
    assert "免费" in rows[0]["answer"] and rows[1]["answer"] is None
    empty = subprocess.run(
        [sys.executable, "run.py", "bot", "understand"], cwd=ROOT, capture_output=True, text=True
    )
    assert empty.returncode == 2 and "请给出要理解的文字" in empty.stderr


def test_the_benchmark_runs_at_a_tiny_size() -> None:
    figures = bench_understand.run(rounds=2, limit=40)
    assert figures["calls"] == 80
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] < bench_understand.TARGET_P99_MS
    assert figures["jieba_p50_ms"] > 0 and figures["exact_p50_ms"] > 0
