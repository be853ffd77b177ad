"""What a run's round-off depends on: CPU, thread count, PyTorch, BLAS and ATen's CPU kernels.

    python -m aebottleneck.machine      # printed by `make test` before the tests

Bitwise equality of two trainings holds only when all of these agree (README, Reproducibility).
"""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import torch

# Environment settings that change which kernels run or how they sum.
ROUND_OFF_SETTINGS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "ATEN_CPU_CAPABILITY", "MKL_CBWR")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def blas() -> str:
    """The BLAS PyTorch was built with (BLAS_INFO in torch.__config__.show())."""
    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return found.group(1) if found else "unknown"


def describe() -> dict:
    """The facts a run's round-off depends on, as plain values."""
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
        "torch": torch.__version__, "blas": blas(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else "none",
        **{name: os.environ.get(name, "unset") for name in ROUND_OFF_SETTINGS},
    }


def device_name(device: torch.device) -> str:
    """What trained a run, for runs.csv: 'cuda: <GPU>' or 'cpu: <CPU>, <threads> threads'."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"{device.type}: {cpu_model()}, {torch.get_num_threads()} threads"


if __name__ == "__main__":
    for name, value in describe().items():
        print(f"{name:>20}: {value}")
