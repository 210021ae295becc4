"""Task-supplied vocabularies: how LRA inputs become token ids.

LRA measures architectures, not pretrained tokenizers, so the task fixes the input
symbols and the runner uses these encoders instead of the submitted model's
tokenizer whenever a task spec sets ``vocabulary`` (see :func:`get_vocabulary`).

Every vocabulary reserves id 0 for ``[PAD]`` and id 1 for ``[CLS]`` (prepended only
when ``add_cls=True``, for models that classify from a first token). ``encode``
truncates to ``max_length`` ids (the ``[CLS]`` included) and does not pad: batching
code pads with ``pad_id`` to whatever length a batch needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.errors import UserError

PAD = "[PAD]"
CLS = "[CLS]"


class _Vocab:
    """Shared behaviour: special ids, truncation, ``vocab_size``."""

    name = ""
    pad_id = 0
    cls_id = 1
    _num_special = 2
    _num_symbols = 0

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included (the embedding table's size)."""
        return self._num_special + self._num_symbols

    def _finish(self, ids: list[int], max_length: int, add_cls: bool) -> list[int]:
        if max_length < 1:
            raise ValueError("max_length must be >= 1")
        if add_cls:
            ids = [self.cls_id, *ids]
        return ids[:max_length]


class ListOpsVocab(_Vocab):
    """ListOps symbols, split on whitespace.

    Ids: 0 ``[PAD]``, 1 ``[CLS]``, 2-11 the digits ``0``-``9``, then ``[MIN``,
    ``[MAX``, ``[MED``, ``[SM``, ``]``, ``(`` and ``)`` (the parentheses of the
    original ListOps release; our importers remove them, other sources may not).

    >>> v = ListOpsVocab()
    >>> v.encode("[MAX 2 9 ]", 10)
    [13, 4, 11, 16]
    >>> v.vocab_size
    19
    """

    name = "listops"
    SYMBOLS = (
        *(str(d) for d in range(10)),
        "[MIN",
        "[MAX",
        "[MED",
        "[SM",
        "]",
        "(",
        ")",
    )
    _num_symbols = len(SYMBOLS)

    def __init__(self) -> None:
        self._ids = {s: i + self._num_special for i, s in enumerate(self.SYMBOLS)}

    def encode(self, text: str, max_length: int, *, add_cls: bool = False):
        """Ids of the whitespace-separated symbols; unknown symbols are an error."""
        ids = []
        for symbol in text.split():
            try:
                ids.append(self._ids[symbol])
            except KeyError:
                raise UserError(
                    "vocab.unknown_symbol", f"{symbol!r} is not a ListOps symbol"
                ) from None
        return self._finish(ids, max_length, add_cls)

    def decode(self, ids: Sequence[int]) -> str:
        """The symbols of ``ids`` joined by spaces, specials dropped."""
        return " ".join(self.SYMBOLS[i - self._num_special] for i in ids if i > 1)


class ByteVocab(_Vocab):
    """UTF-8 bytes: byte ``b`` is id ``b + 2`` (LRA Text and Retrieval).

    >>> ByteVocab().encode("hé", 10)
    [106, 197, 171]
    >>> ByteVocab().vocab_size
    258
    """

    name = "bytes"
    _num_symbols = 256

    def encode(self, text: str, max_length: int, *, add_cls: bool = False):
        """Ids of the UTF-8 bytes of ``text``."""
        ids = [b + self._num_special for b in text.encode("utf-8")]
        return self._finish(ids, max_length, add_cls)


class PixelVocab(_Vocab):
    """Gray levels: level ``v`` (0-255) is id ``v + 2`` (LRA Image, Pathfinder).

    >>> PixelVocab().encode([0, 255, 7], 2)
    [2, 257]
    """

    name = "pixels"
    _num_symbols = 256

    def encode(self, pixels: Sequence[int], max_length: int, *, add_cls=False):
        """Ids of a row-major list of gray levels; a level outside 0-255 is an error."""
        ids = []
        for value in pixels:
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 0 <= value <= 255
            ):
                raise UserError(
                    "vocab.bad_pixel", f"pixel {value!r} is not an int in 0-255"
                )
            ids.append(value + self._num_special)
        return self._finish(ids, max_length, add_cls)


VOCABULARIES = {"listops": ListOpsVocab, "bytes": ByteVocab, "pixels": PixelVocab}


def get_vocabulary(name: str) -> ListOpsVocab | ByteVocab | PixelVocab:
    """The vocabulary a task spec's ``vocabulary`` names.

    >>> get_vocabulary("bytes").pad_id
    0
    """
    try:
        return VOCABULARIES[name]()
    except KeyError:
        from tasks.names import did_you_mean

        raise UserError(
            "vocab.unknown_vocabulary",
            f"Unknown vocabulary {name!r}.{did_you_mean(name, list(VOCABULARIES))}",
        ) from None
