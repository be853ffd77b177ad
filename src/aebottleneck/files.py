"""Files are replaced only by complete ones: written to a temporary name beside, then renamed."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


class CacheError(RuntimeError):
    """The results folder cannot be written; the message says which and why."""


def write_atomic(data: bytes, path: Path) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing to remove when the folder itself failed
            tmp.unlink()
        raise CacheError(f"cannot write {path}: {exc.strerror or exc}. Free some space or set "
                         "AEB_RESULTS_DIR to a writable folder; finished results are untouched.") from exc
