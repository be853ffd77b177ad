"""Autoencoder bottlenecks: the paper's MLP autoencoder, penalties on its code, and the run cache.

Read in this order: config -> data -> model -> penalties -> train -> metrics -> cache.
"""
import torch

# Denormal floats (below ~1e-38, which a sigmoid's gradient far in its tails makes) take the
# CPU's slow path: flushed to zero, a paper-profile stack trained 2.5x faster on the 2-core Intel
# VM (benchmarks/README.md). Set on import, before PyTorch starts its thread pool: pool threads
# copy the setting when they are created; set later, it reaches the calling thread only.
torch.set_flush_denormal(True)

from .config import CODE_VERSION, ConfigError, RunConfig, load_profile

__all__ = ["CODE_VERSION", "ConfigError", "RunConfig", "load_profile"]
