"""Importer for ListOps: LRA's TSV files and the original ListOps release.

Two layouts, chosen with the ``layout`` option (:class:`ListOpsConfig`):

- ``"lra"`` (LRA's ``listops-1000/basic_{train,val,test}.tsv``): a header line
  ``Source<TAB>Target``, then ``expression<TAB>value`` per line, the expression
  in flat form: ``[MAX 2 9 [MIN 4 7 ] 0 ]``.
- ``"original"`` (Nangia & Bowman's ``train_d20s.tsv``/``test_d20s.tsv``): no
  header, ``value<TAB>expression`` per line, the expression binarized with
  parentheses: ``( ( [SM 6 ) 5 ) ] )``.

Either way rows become ``{"idx", "text", "label"}`` with ``text`` in flat form:
parentheses carry no information (the brackets already nest the lists), so they
are removed in both layouts. Every expression is checked to be a well-formed
ListOps expression; a bad line raises :class:`ImportFormatError` naming file
and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, split_files
from tasks.specs import TaskSpec

LAYOUTS = ("lra", "original")
HEADER = "Source\tTarget"
OPERATORS = frozenset({"[MIN", "[MAX", "[MED", "[SM"})
DIGITS = frozenset(str(d) for d in range(10))


@dataclass(frozen=True)
class ListOpsConfig:
    """Options of the ``lra_listops`` importer.

    Attributes:
        layout: ``"lra"`` (header, expression then value) or ``"original"`` (no
            header, value then parenthesized expression).
    """

    layout: str = "lra"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ListOpsConfig:
        """Build a config from a spec table; bad options raise ValueError."""
        unknown = set(options) - {"layout"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        config = cls(**options)
        if config.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {config.layout!r}")
        return config


def flatten_expression(expression: str) -> str:
    """Check a ListOps expression and return its flat form (no parentheses).

    >>> flatten_expression("( ( [SM 6 ) 5 ) ] )")
    '[SM 6 5 ]'

    Raises ValueError saying what is wrong.
    """
    tokens = [t for t in expression.split() if t not in ("(", ")")]
    depth = 0
    args: list[int] = []
    for position, token in enumerate(tokens):
        if token in OPERATORS:
            if position and depth == 0:
                raise ValueError("text after the end of the expression")
            if args:
                args[-1] += 1
            depth += 1
            args.append(0)
        elif token == "]":
            if depth == 0:
                raise ValueError("']' closes no list")
            if args.pop() == 0:
                raise ValueError("an operator without arguments")
            depth -= 1
        elif token in DIGITS:
            if depth == 0:
                raise ValueError(f"digit {token} outside any list")
            args[-1] += 1
        else:
            raise ValueError(f"unknown symbol {token!r}")
    if not tokens:
        raise ValueError("empty expression")
    if depth:
        raise ValueError(f"{depth} list(s) not closed with ']'")
    return " ".join(tokens)


def read_listops(path: str | Path, *, layout: str = "lra") -> list[dict[str, Any]]:
    """Read one ListOps file in ``layout`` into canonical rows."""
    path = Path(path)
    data = path.read_bytes()
    text = decode_utf8(data, where=path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line
    first = 1
    if layout == "lra":
        if not lines or lines[0] != HEADER:
            found = lines[0][:40] if lines else "an empty file"
            raise ImportFormatError(
                "import.bad_header",
                f"expected the header 'Source<TAB>Target', found {found!r}",
                file=path,
                line=1,
            )
        first = 2
    rows = []
    for number, line in enumerate(lines[first - 1 :], start=first):
        fields = line.split("\t")
        if len(fields) != 2:
            raise ImportFormatError(
                "import.bad_row",
                f"expected 2 tab-separated columns, found {len(fields)}",
                file=path,
                line=number,
            )
        expression, value = fields if layout == "lra" else fields[::-1]
        if value not in DIGITS:
            raise ImportFormatError(
                "import.bad_row",
                f"value {value!r} is not a digit 0-9",
                file=path,
                line=number,
            )
        try:
            flat = flatten_expression(expression)
        except ValueError as exc:
            raise ImportFormatError(
                "import.bad_row", f"malformed expression: {exc}", file=path, line=number
            ) from None
        rows.append({"idx": len(rows), "text": flat, "label": int(value)})
    return rows


class ListOpsImporter:
    """The ``lra_listops`` importer."""

    def check_options(self, task: TaskSpec) -> None:
        """Validate ``importer_options`` when the catalogue loads."""
        ListOpsConfig.from_options(dict(task.importer_options))
        if task.text_fields != ("text",):
            raise ValueError("lra_listops fills one text field named 'text'")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every declared split; all must be present."""
        config = ListOpsConfig.from_options(dict(task.importer_options))
        splits = {
            split: read_listops(path, layout=config.layout)
            for split, path in split_files(task, folder)
        }
        return Dataset(task, splits)


IMPORTER = ListOpsImporter()
