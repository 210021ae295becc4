"""Find where a key is set in a spec's TOML text, so an error can name its line.

``tomllib`` returns plain dicts without positions, so a mistake the validator finds
after parsing ("unknown key 'verison' in [tasks.one]") is located again in the
text, the way a person would look for it: table headers and ``key = value`` lines
are scanned in order. What the catalogue's files use is understood: standard and
dotted table headers, bare, quoted and dotted keys, inline tables (their keys are
on the line of the table), and multi-line strings and arrays (skipped). When the
key itself is not in the text (a missing key) the line of its table is given.

>>> text = '[suite]\\nname = "x"\\n\\n[tasks.one]\\nversion = 1\\n'
>>> text += 'files = { a = "a" }\\n'
>>> key_line(text, ("tasks", "one"), "version")
5
>>> key_line(text, ("tasks", "one", "files"), "a")
6
>>> key_line(text, ("tasks", "one"), "labels")  # missing: the table's line
4
"""

from __future__ import annotations

import re

_PART = r"""[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'"""
_HEADER = re.compile(rf"^\s*\[(?!\[)\s*((?:{_PART})(?:\s*\.\s*(?:{_PART}))*)\s*\]")
_KEY = re.compile(rf"^\s*((?:{_PART})(?:\s*\.\s*(?:{_PART}))*)\s*=(.*)$")
_INLINE_KEY = re.compile(rf"(?:^|[{{,])\s*((?:{_PART}))\s*=")
_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")

Path = tuple[str, ...]


def _parts(dotted: str) -> Path:
    found = re.findall(_PART, dotted)
    return tuple(part[1:-1] if part[0] in "\"'" else part for part in found)


class _Positions:
    """Where each (table, key) is first set, and where each table starts."""

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[Path, str], int] = {}
        self.tables: dict[Path, int] = {}
        self._scan(text)

    def _mark(self, table: Path, path: Path, line: int) -> None:
        for depth in range(len(path)):
            self.keys.setdefault((table + path[:depth], path[depth]), line)

    def _scan(self, text: str) -> None:
        current: Path = ()
        open_quote: str | None = None
        depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if open_quote is not None:  # inside a multi-line string
                if line.count(open_quote) % 2:
                    open_quote = None
                continue
            if depth > 0:  # inside a multi-line array or inline table
                depth += _balance(line)
                continue
            header = _HEADER.match(line)
            if header:
                current = _parts(header.group(1))
                self.tables.setdefault(current, number)
                self._mark((), current, number)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = _parts(key.group(1))
            self._mark(current, path, number)
            value = key.group(2).strip()
            for quote in ('"""', "'''"):
                if value.startswith(quote) and value.count(quote) % 2:
                    open_quote = quote
            if value.startswith("{"):
                for inner in _INLINE_KEY.finditer(_STRING.sub('""', value)):
                    self._mark(current + path, _parts(inner.group(1)), number)
            if open_quote is None:
                depth = max(_balance(value), 0)


def _balance(value: str) -> int:
    """Brackets opened minus closed on a line, strings and comments left out."""
    code = _STRING.sub('""', value).split("#", 1)[0]
    return code.count("[") + code.count("{") - code.count("]") - code.count("}")


def key_line(text: str, table: Path, key: str | None) -> int | None:
    """The 1-based line where ``key`` of ``table`` is set, else where ``table``
    starts (or is first named), else None. ``key`` None asks for the table."""
    positions = _Positions(text)
    if key is not None and (table, key) in positions.keys:
        return positions.keys[(table, key)]
    while table:
        if table in positions.tables:
            return positions.tables[table]
        if (table[:-1], table[-1]) in positions.keys:
            return positions.keys[(table[:-1], table[-1])]
        table = table[:-1]
    return None
