"""A card's detail as an EHR renders it (CommonMark with GitHub tables): its words and shape.

The word count (issue #11: "at most about 100 words") is the words a clinician reads: the
rendered text, without Markdown syntax, split on white space, counting pieces that hold a letter
or a digit ("2026-11-23", "1.5", "mg/day" and "(-8.3%):" are one word each; "-" is none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

DETAIL_WORDS_MAX = 100
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_WORD = re.compile(r"[^\W_]")


def _inline(tokens: list[Token]) -> Iterator[tuple[Token, bool]]:
    """Inline tokens, and whether each sits in a list item."""
    depth = 0
    for token in tokens:
        depth += token.type == "list_item_open"
        depth -= token.type == "list_item_close"
        if token.type == "inline":
            yield token, depth > 0


def rendered_text(markdown: str) -> str:
    parts: list[str] = []
    for token, _ in _inline(_MD.parse(markdown)):
        for child in token.children or ():
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append("\n")
        parts.append("\n")
    return "".join(parts)


def rendered_words(markdown: str) -> int:
    return sum(1 for piece in rendered_text(markdown).split() if _WORD.search(piece))


def markdown_problems(markdown: str) -> list[str]:
    """Syntax that did not render (an unclosed ** or __), and list items that swallowed the
    paragraph after them (a line right after a list without a blank line)."""
    problems = []
    for token, in_item in _inline(_MD.parse(markdown)):
        for child in token.children or ():
            if child.type == "text" and ("**" in child.content or "__" in child.content):
                problems.append(f"unrendered emphasis: {child.content!r}")
            if in_item and child.type == "softbreak":
                problems.append(f"list item runs on: {token.content!r}")
    return problems
