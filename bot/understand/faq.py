"""Policy questions answered from the policy: BM25 over its paragraphs and the project's facts.

The policy is read from `<repo>/../shared/seed/` when it is there (the shared folder beside the
repository), else from the copy the repository keeps (`tests/data/`). Each paragraph is labelled
with the policy's own numbering (三、(一)); an answer quotes the best sentence of the best passage,
or gives the fact, and names its source. Below MIN_SCORE nothing is said but that the bot cannot
answer: a wrong answer about a public policy is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba_fast_dat as jieba
from rank_bm25 import BM25Okapi

from bot.understand.facts import Fact

Tokenizer = jieba.Tokenizer

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIRS = (ROOT.parent / "shared" / "seed", ROOT / "tests" / "data")
POLICY_GLOB = "policy-*.txt"
MIN_SCORE = 3.0
UNANSWERED = "这个问题我暂时无法回答"
_DOC_NO = re.compile(r"\S+〔\d{4}〕\d+号")
_TOP = re.compile(r"^([一二三四五六七八九十]+、)")
_SUB = re.compile(r"^[（(]([一二三四五六七八九十]+)[）)]")
_SENTENCE = re.compile(r"(?<=[。；])")
_STOP = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "么",
        "啊",
        "呀",
        "吧",
        "我",
        "我们",
        "你",
        "你们",
        "您",
        "是",
        "要",
        "有",
        "在",
        "和",
        "与",
        "及",
        "就",
        "都",
        "也",
        "还",
        "又",
        "这",
        "那",
        "个",
        "一个",
        "请问",
        "想",
        "想问",
        "问",
        "问下",
        "问一下",
        "一下",
        "下",
        "能",
        "可以",
        "会",
        "怎么",
        "什么",
        "如何",
        "哪",
        "多少",
        "多久",
        "吗?",
        "嘛",
        "哦",
        "喔",
        "请",
        "给",
        "公司",
        "企业",
        "报告",
        "信用",
        "专项",
        "上市版",
    ]
)


@dataclass(frozen=True)
class Passage:
    source: str  # 渝府办发〔2024〕89号 三、(一)
    text: str
    answer: str  # what the bot says: a fact, or "" to quote the best sentence of `text`


def policy_file() -> Path | None:
    for folder in POLICY_DIRS:
        found = sorted(folder.glob(POLICY_GLOB)) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def policy_passages(text: str) -> tuple[str, list[Passage]]:
    """The document number and one passage per paragraph of the body (not the annex table)."""
    doc_no = _DOC_NO.search(text)
    number = doc_no.group(0) if doc_no else "政策文件"
    body = text[text.find("一、") : text.find("附件：")]
    passages, top = [], ""
    for line in (raw.strip() for raw in body.splitlines()):
        if not line:
            continue
        top_match, sub_match = _TOP.match(line), _SUB.match(line)
        if top_match:
            top = top_match.group(1)
        label = f"{top}({sub_match.group(1)})" if sub_match else top.rstrip("、")
        if passages and not top_match and not sub_match and passages[-1].source.endswith(label):
            # a paragraph the page break cut in two
            last = passages.pop()
            line = last.text + line
        passages.append(Passage(f"{number} {label}", line, ""))
    return number, [p for p in passages if len(p.text) > 20]


class Index:
    """BM25 over passages, with a tokenizer that knows the bot's own words."""

    def __init__(
        self, passages: list[Passage], tokenizer: Tokenizer, topics: Iterable[str]
    ) -> None:
        self.tokenizer = tokenizer
        self.topics = tuple(topics)
        self.passages = passages
        self.bm25 = BM25Okapi([self.tokens(p.text) for p in passages])

    def tokens(self, text: str) -> list[str]:
        return [
            t for t in self.tokenizer.lcut(text) if t.strip() and t not in _STOP and not _punct(t)
        ]

    def best(self, text: str) -> tuple[Passage, float] | None:
        # A topic inside a longer word (要钱 in 开报告要钱吗) counts as asked.
        query = self.tokens(text) + [t for t in self.topics if t in text]
        if not query:
            return None
        scores = self.bm25.get_scores(query)
        index = max(range(len(scores)), key=scores.__getitem__)
        return self.passages[index], float(scores[index])

    def answer(self, text: str) -> str | None:
        """The answer with its source, or None when no passage scores MIN_SCORE."""
        found = self.best(text)
        if found is None or found[1] < MIN_SCORE:
            return None
        passage = found[0]
        said = passage.answer or self._sentence(passage.text, text)
        return f"{said}（依据{passage.source}）"

    def _sentence(self, paragraph: str, question: str) -> str:
        wanted = set(self.tokens(question))
        sentences = [s for s in _SENTENCE.split(paragraph) if s]
        best = max(sentences, key=lambda s: len(wanted & set(self.tokens(s))))
        return re.sub(r"[〔（(]责任单位.*$", "", best).rstrip("；。") + "。"


def _punct(token: str) -> bool:
    return all(not ch.isalnum() for ch in token)


def tokenizer(words: Iterable[str]) -> Tokenizer:
    """jieba with its dictionary (shipped in the wheel) and the bot's own words added."""
    made = Tokenizer()
    made.initialize()
    for word in words:
        made.add_word(word, freq=2000)
    return made


def build(facts: list[Fact], words: Tokenizer) -> Index:
    """The index over the policy's paragraphs and the facts (each fact cites the policy)."""
    path = policy_file()
    number, passages = policy_passages(path.read_text(encoding="utf-8")) if path else ("", [])
    number = number or "渝府办发〔2024〕89号"
    for fact in facts:
        # The topics are indexed with the fact, twice, so that the words people ask with find it.
        indexed = f"{fact.text} {' '.join(fact.topics * 2)}"
        passages.append(Passage(f"{number} {fact.section}", indexed, fact.text.rstrip("。") + "。"))
    return Index(passages, words, (t for fact in facts for t in fact.topics))
