"""Text bound for a terminal, made harmless. A file name is data from whoever wrote the file: one
named `\\x1b]0;...\\x07part.png` or carrying bidi overrides must not retitle the window, recolour
the screen or reorder what an operator reads. Control characters (C0, C1, DEL) and the Unicode
format characters that reorder text are shown as escapes. JSON output needs none of this (it is
ASCII-escaped); everything printed for a person goes through `safe`."""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def safe(text: str) -> str:
    """`text` with every unsafe character as a visible escape (tabs and newlines stay)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula at the start of a cell


def cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: one that would start a formula (a file name
    `=HYPERLINK(...)`, a reviewer's note) gets an apostrophe in front."""
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value
