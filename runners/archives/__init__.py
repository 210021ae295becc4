"""Check and unpack uploaded model archives without trusting anything in them.

A model arrives as a zip made by a stranger. Before anything reads the model,
:func:`inspect_archive` looks at the zip's directory and a few bytes of its
members (never extracting everything) and refuses, with a stable code and a
plain message, whatever could hurt the worker or the sandbox: path traversal,
links and device files, nested archives, zip bombs, pickle weights (loading a
pickle runs code), configs that ask for remote code, malformed safetensors.
:func:`extract_archive` then unpacks only the regular files that passed, counting
the real bytes as it goes, because a zip's declared sizes can lie.

One module per job: ``rules`` (the limits, the refused kinds of file, the error
and the findings), ``inspection`` (the zip's directory, names, sizes and
configs), ``weights`` (safetensors headers), ``extraction`` (unpacking, bytes
counted), ``parameters`` (the model's size from its config) and ``architecture``
(a supported ``model_type``, and tokenizer files when the tasks need them).

Plain Python (zipfile, json, struct, hashlib): the worker and the upload API use
it, and the tests run it without Django.
"""

from runners.archives.architecture import check_architecture
from runners.archives.extraction import extract_archive
from runners.archives.inspection import inspect_archive
from runners.archives.parameters import (
    MAX_CONFIG_DIMENSION,
    MAX_CONFIG_LAYERS,
    check_parameter_cap,
    count_parameters,
    estimate_parameters,
)
from runners.archives.rules import (
    IGNORED_NAMES,
    IGNORED_PREFIXES,
    MAX_CONFIG_BYTES,
    MAX_SAFETENSORS_HEADER,
    NESTED_ARCHIVE_SUFFIXES,
    PICKLE_SUFFIXES,
    RATIO_MIN_BYTES,
    REMOTE_CODE_CONFIGS,
    ArchiveError,
    ArchiveInfo,
    ArchiveLimits,
    sha256_file,
)

__all__ = [
    "IGNORED_NAMES",
    "IGNORED_PREFIXES",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DIMENSION",
    "MAX_CONFIG_LAYERS",
    "MAX_SAFETENSORS_HEADER",
    "NESTED_ARCHIVE_SUFFIXES",
    "PICKLE_SUFFIXES",
    "RATIO_MIN_BYTES",
    "REMOTE_CODE_CONFIGS",
    "ArchiveError",
    "ArchiveInfo",
    "ArchiveLimits",
    "check_architecture",
    "check_parameter_cap",
    "count_parameters",
    "estimate_parameters",
    "extract_archive",
    "inspect_archive",
    "sha256_file",
]
