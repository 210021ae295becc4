"""Is the uploaded model one Glew can fine-tune, and can it read its text?

Checked at upload, from the archive's directory and ``config.json`` alone
(``inspect_archive`` has already read both): the ``model_type`` must be one of
``runners.architectures.ARCHITECTURES`` (else the refusal lists them), and a
model for a task that the model's own tokenizer encodes must ship tokenizer
files in its folder, in either form transformers reads offline: what
``save_pretrained`` writes (``tokenizer.json``) or the vocabulary files a hub
repository ships (``vocab.txt``, ``vocab.json`` + ``merges.txt``, ``spm.model``,
``spiece.model``, ``sentencepiece.bpe.model``, ...). Tasks with their own
vocabulary (LRA) need no tokenizer.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from runners.architectures import (
    has_tokenizer,
    no_tokenizer_message,
    unsupported_reason,
)
from runners.archives.rules import ArchiveError, ArchiveInfo


def check_architecture(info: ArchiveInfo, *, tokenizer_needed: bool) -> str:
    """The archive's supported ``model_type``; refuses an unsupported one
    (``upload.unsupported_model_type``, listing the supported types) and, when
    ``tokenizer_needed``, a model folder without tokenizer files
    (``upload.no_tokenizer``)."""
    reason = unsupported_reason(info.config)
    if reason is not None:
        raise ArchiveError("upload.unsupported_model_type", reason)
    if tokenizer_needed and not has_tokenizer(_folder_files(info)):
        message = no_tokenizer_message()
        raise ArchiveError(
            "upload.no_tokenizer", message[0].upper() + message[1:] + "."
        )
    return str(info.config["model_type"])


def _folder_files(info: ArchiveInfo) -> list[str]:
    """Names of the files directly in the model folder (beside config.json)."""
    root = PurePosixPath(info.root) if info.root else PurePosixPath()
    return [
        PurePosixPath(name).name
        for name in info.members
        if PurePosixPath(name).parent == root
    ]
