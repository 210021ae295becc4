"""benchmarks/gpu_check.sh stays ready where no GPU is lent: the script parses, its
Python part says plainly that there is no CUDA device, and every piece of it (packed
and padded training, the SDPA choice, the profiler, the report) runs on the CPU."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gpu_check():
    path = REPO / "benchmarks" / "benchlib" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_check"]


def test_the_shell_script_parses():
    script = REPO / "benchmarks" / "gpu_check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_without_cuda_it_stops_saying_so(gpu_check, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == gpu_check.NO_CUDA
    assert "no CUDA device" in capsys.readouterr().err


def test_every_piece_runs_on_the_cpu(gpu_check, tmp_path, capsys):
    out = tmp_path / "figures.json"
    argv = ["--cpu-smoke", "--rows", "60", "--seconds", "0", "--json", str(out)]
    assert gpu_check.main([*argv, "--padded-seconds", "0", "--min-steps", "1"]) == 0
    figures = json.loads(out.read_text())
    assert figures["packed"]["computed_tokens_per_real"] == 1.0
    assert figures["padded"]["computed_tokens_per_real"] > 1.0
    assert figures["packed"]["tokens_per_s"] > 0 and figures["packed_vs_padded"] > 0
    assert figures["sdpa"]["dispatcher_choice"] in {
        "MATH",
        "FLASH_ATTENTION",
        "EFFICIENT_ATTENTION",
        "CUDNN_ATTENTION",
    }
    assert figures["packed"]["mfu"] is None  # no made-up peak for a CPU
    assert "MFU target >= 40%" in capsys.readouterr().out
