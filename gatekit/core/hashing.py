"""File hashing and file records: the sha256 of a file, and the report's record of each file a run reads.

Used by the data loaders and by model loading (which pins a model file's sha256), and by the
reproducibility check; a missing file is refused here with an InputError naming it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_regular_file(path: Any) -> str | None:
    """Return the sha256 of a regular file; None when it is missing, unreadable or not a regular file.

    Devices and fifos are never read (a report or policy naming ``/dev/zero`` must not hang a run).
    """
    import stat

    try:
        p = Path(str(path))
        return sha256_file(p) if stat.S_ISREG(p.stat().st_mode) else None
    except (OSError, ValueError):
        return None


def record_file(files: dict[str, dict[str, Any]], role: str, path: Path, raw: bytes | None = None) -> str:
    """Record a file's path, sha256 and size for the report; hash ``raw`` when the caller holds the bytes."""
    if raw is not None:
        digest, size = hashlib.sha256(raw).hexdigest(), len(raw)
    else:
        try:
            digest, size = sha256_file(path), path.stat().st_size
        except OSError as exc:
            raise input_error(f"cannot read the {role} file: {exc.strerror}", str(path)) from None
    files[role] = {"path": str(path.resolve()), "sha256": digest, "bytes": size}  # absolute: verify runs anywhere
    return digest


def must_exist(path: Path, role: str, hint: str = "") -> None:
    """Raise an InputError naming ``path`` when it is not a file (``hint`` ends the message)."""
    if not path.is_file():
        raise input_error(f"{role} file not found{hint}", str(path))
