"""The one JSON parser for what callers send: bounded nesting and strict UTF-8.

Python's json module recurses once per level (a few KiB of `[[[[...` raise RecursionError, not
ValueError) and accepts escaped lone surrogates (`"\\udc00"`), which later fail to encode in
answers, logs and the database. Both are refused here as malformed JSON, with ValueError.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32

# String literals hold no structure: drop them before counting brackets.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_DEPTH = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class StrictJsonError(ValueError):
    """The text is not JSON this service accepts; the message is Chinese."""


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", raw):
        step = _DEPTH.get(byte)
        if step:
            depth += step
            deepest = max(deepest, depth)
    return deepest


def _check_text(value: Any) -> None:
    """Refuse a string holding a lone surrogate, at any depth (keys too)."""
    if isinstance(value, str):
        value.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode("utf-8")
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"JSON 不允许 {name}")


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed value, or StrictJsonError: invalid UTF-8, too deep, malformed, lone surrogate."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJsonError("内容含有无效的 Unicode 字符") from None
    if nesting_depth(raw) > max_depth:
        raise StrictJsonError(f"JSON 嵌套层数超过 {max_depth} 层")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StrictJsonError("内容不是有效的 UTF-8 文本") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise StrictJsonError(f"第 {exc.colno} 个字符附近格式错误") from None
    except RecursionError:  # unreachable within MAX_DEPTH; kept so no input can become a 500
        raise StrictJsonError(f"JSON 嵌套层数超过 {max_depth} 层") from None
    try:
        _check_text(value)
    except UnicodeEncodeError:
        raise StrictJsonError("内容含有无效的 Unicode 字符（孤立代理项）") from None
    return value
