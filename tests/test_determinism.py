"""Determinism: the same config and seed give bit-identical results on the CPU, across processes,
on one machine with one thread count (pinned here: MKL sums in another order with another count,
and another CPU's kernels round differently; README, Reproducibility)."""
import json
import os
import subprocess
import sys

import torch

SCRIPT = """
import json, torch
from aebottleneck.config import RunConfig
from aebottleneck.train import train_runs
run, = train_runs([RunConfig(bottleneck=2, epochs=1, train_size=1000, penalty="signed", alpha=0.01)],
                  torch.device("cpu"), progress=False)
print(json.dumps({"metrics": run["metrics"], "history": run["history"],
                  "weights": run["state"]["decoder.2.weight"].flatten().tolist()}))
"""


def test_bit_identical_across_processes():
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}      # the same count in both
    outputs = [json.loads(subprocess.run([sys.executable, "-c", SCRIPT], check=True, capture_output=True,
                                         text=True, env=env).stdout) for _ in range(2)]
    for out in outputs:
        out["metrics"].pop("train_seconds_shared")  # wall time, the one field allowed to differ
    assert outputs[0] == outputs[1]
