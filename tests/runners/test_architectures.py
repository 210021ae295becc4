"""Which architectures an upload may be, and which tokenizer files count.

The list (``runners.architectures``) is the one both the upload check
(``runners.archives.check_architecture``) and the sandbox's loader read; the
architecture matrix builds and runs every entry (tests/fixtures/architectures.py,
tests/integration/test_architectures.py).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from kernels.packed import PACKED_MODEL_TYPES
from runners import training
from runners.architectures import ARCHITECTURES, TOKENIZER_FILES, supported_list
from runners.archives import (
    ArchiveError,
    ArchiveLimits,
    check_architecture,
    inspect_archive,
)
from tasks.errors import UserError
from tests.fixtures.architectures import ARCHITECTURES as MATRIX


def _inspect(tmp_path: Path, entries: dict[str, bytes]):
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return inspect_archive(path, ArchiveLimits())


def _config(**values) -> bytes:
    return json.dumps(values).encode()


def test_the_supported_list_is_the_test_matrix() -> None:
    """Every supported type is built and run by the matrix, and no other."""
    assert set(ARCHITECTURES) == set(MATRIX)


def test_the_packed_architectures_are_the_packed_families() -> None:
    packed = {t for t, a in ARCHITECTURES.items() if a.execution == "packed"}
    assert packed == PACKED_MODEL_TYPES


@pytest.mark.parametrize(
    "names",
    [
        ["spm.model", "tokenizer_config.json"],  # DeBERTa-v3 as on the hub
        ["spiece.model"],  # ALBERT
        ["sentencepiece.bpe.model"],  # XLM-R, CamemBERT
        ["vocab.json", "merges.txt"],  # RoBERTa
        ["vocab.txt"],  # BERT, ELECTRA, DistilBERT, MPNet
        ["tokenizer.json"],  # save_pretrained, ModernBERT
    ],
)
def test_every_shipped_tokenizer_form_is_recognised_at_upload(
    tmp_path: Path, names: list[str]
) -> None:
    entries = {"m/config.json": _config(model_type="deberta-v2")}
    entries |= {f"m/{name}": b"{}" for name in names}
    info = _inspect(tmp_path, entries)
    assert check_architecture(info, tokenizer_needed=True) == "deberta-v2"


def test_an_unsupported_model_type_is_refused_with_the_list(tmp_path: Path) -> None:
    info = _inspect(
        tmp_path,
        {"config.json": _config(model_type="gpt2"), "tokenizer.json": b"{}"},
    )
    with pytest.raises(ArchiveError) as refused:
        check_architecture(info, tokenizer_needed=True)
    assert refused.value.code == "upload.unsupported_model_type"
    assert "'gpt2'" in refused.value.message
    for model_type in ARCHITECTURES:
        assert model_type in refused.value.message


def test_a_config_without_a_model_type_is_refused(tmp_path: Path) -> None:
    info = _inspect(tmp_path, {"config.json": _config(hidden_size=4)})
    with pytest.raises(ArchiveError) as refused:
        check_architecture(info, tokenizer_needed=False)
    assert refused.value.code == "upload.unsupported_model_type"
    assert supported_list() in refused.value.message


def test_a_model_without_tokenizer_files_is_refused_only_when_one_is_needed(
    tmp_path: Path,
) -> None:
    info = _inspect(
        tmp_path,
        {
            "m/config.json": _config(model_type="bert"),
            # A tokenizer file in a subfolder is not the model's tokenizer.
            "m/extra/vocab.txt": b"[PAD]\n",
            "m/tokenizer_config.json": b"{}",
        },
    )
    with pytest.raises(ArchiveError) as refused:
        check_architecture(info, tokenizer_needed=True)
    assert refused.value.code == "upload.no_tokenizer"
    assert "spm.model" in refused.value.message
    # An architecture submission for a task with its own vocabulary (LRA).
    assert check_architecture(info, tokenizer_needed=False) == "bert"


def test_the_sandbox_refuses_an_unsupported_folder_in_plain_words(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    (tmp_path / "spiece.model").write_bytes(b"x")
    with pytest.raises(UserError) as refused:
        training.load_model(tmp_path, task_type="classification", num_labels=2)
    assert refused.value.code == "execute.bad_model"
    assert "deberta-v2" in refused.value.message


def test_sentencepiece_files_are_tokenizer_files() -> None:
    assert {"spm.model", "spiece.model", "sentencepiece.bpe.model"} <= TOKENIZER_FILES


@pytest.mark.parametrize("model_type", ["deberta-v2", "mpnet"])
def test_a_config_only_model_without_sdpa_is_built_with_its_own_attention(
    tmp_path: Path, model_type: str
) -> None:
    # transformers refuses SDPA for these and leaves the refused choice on the
    # config; the retry with the default attention must not see it.
    from tasks.vocab import get_vocabulary

    config = {"model_type": model_type, "vocab_size": 300, "hidden_size": 32}
    config.update(num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    (tmp_path / "config.json").write_text(json.dumps(config))
    _, model, scratch, _ = training.load_model(
        tmp_path,
        task_type="classification",
        num_labels=2,
        vocabulary=get_vocabulary("bytes"),
        positions=64,
    )
    assert scratch is True
    assert model.config.model_type == model_type
