"""Autoencoder bottlenecks: the paper's MLP autoencoder, penalties on its code, and the run cache.

Read in this order: config -> data -> model -> penalties -> train -> metrics -> cache.
"""
from .config import CODE_VERSION, ConfigError, RunConfig, load_profile

__all__ = ["CODE_VERSION", "ConfigError", "RunConfig", "load_profile"]
