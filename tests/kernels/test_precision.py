"""Which precision a recipe runs in, decided from the hardware's own flags."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kernels import precision

ZEN5_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep avx2 avx512f avx512dq avx512bw "
    "avx512vl avx512_bf16 avx512_vnni avx_vnni"
)
SKYLAKE_FLAGS = "fpu vme de pse avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni"


def _cpuinfo(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(body, encoding="utf-8")
    return path


def test_x86_flags_are_read_from_the_first_processor(tmp_path: Path) -> None:
    path = _cpuinfo(
        tmp_path,
        "processor\t: 0\nmodel name\t: AMD EPYC\n"
        f"flags\t\t: {ZEN5_FLAGS}\n\nprocessor\t: 1\nflags\t\t: fpu\n",
    )
    flags = precision.cpu_flags(path)
    assert {"avx512_bf16", "avx512f"} <= flags
    assert precision.flags_have_native_bf16(flags)


def test_arm_features_line_is_read(tmp_path: Path) -> None:
    path = _cpuinfo(tmp_path, "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert precision.flags_have_native_bf16(precision.cpu_flags(path))


def test_avx512_without_bf16_instructions_is_not_native(tmp_path: Path) -> None:
    path = _cpuinfo(tmp_path, f"processor\t: 0\nflags\t\t: {SKYLAKE_FLAGS}\n")
    assert not precision.flags_have_native_bf16(precision.cpu_flags(path))
    assert precision.flags_have_native_bf16({"amx_bf16", "amx_tile"})


def test_missing_cpuinfo_means_no_flags(tmp_path: Path) -> None:
    assert precision.cpu_flags(tmp_path / "absent") == frozenset()


def test_garbled_cpuinfo_means_no_flags_not_a_crash(tmp_path: Path) -> None:
    """Binary junk or a file without a flags line counts as a CPU without bf16
    (fp32, always safe) rather than failing the run."""
    junk = tmp_path / "junk"
    junk.write_bytes(b"\xff\xfe\x00flags-ish\x00\x80 avx512_bf16\n:::\n")
    assert not precision.flags_have_native_bf16(precision.cpu_flags(junk))
    empty = _cpuinfo(tmp_path, "processor\t: 0\nmodel name\t: mystery\n")
    assert precision.cpu_flags(empty) == frozenset()
    folder = tmp_path / "dir"
    folder.mkdir()
    assert precision.cpu_flags(folder) == frozenset()


def test_the_fastest_native_precision_is_bf16_only_where_native() -> None:
    cpu = torch.device("cpu")
    assert precision.resolve("fp32", cpu) == "fp32"
    expected = "bf16" if precision.native_bf16(cpu) else "fp32"
    assert precision.resolve("bf16", cpu) == expected
    assert precision.resolve("bf16", torch.device("meta")) == "fp32"


def test_this_machines_cpu_decision_follows_its_flags() -> None:
    flags = precision.cpu_flags()
    native = torch.backends.mkldnn.is_available() and bool(
        flags & precision.BF16_CPU_FLAGS
    )
    assert precision.native_bf16(torch.device("cpu")) is native


def test_unknown_precision_is_an_error() -> None:
    with pytest.raises(ValueError, match="fp16"):
        precision.resolve("fp16", torch.device("cpu"))


@pytest.mark.parametrize(
    ("name", "dtype"), [("bf16", torch.bfloat16), ("fp32", torch.float32)]
)
def test_autocast_runs_matrix_products_in_the_resolved_precision(
    name: str, dtype: torch.dtype
) -> None:
    x, w = torch.randn(4, 8), torch.randn(3, 8)
    with precision.autocast(name, torch.device("cpu")):
        assert F.linear(x, w).dtype == dtype
