"""One sha256 over what decides a gate run: the policy, every input file, and the library versions.

``reproducibility_hash`` is computed from the report's own metadata (policy sha256, each input file's
role and sha256, the versions of Python, gatekit and the libraries it runs on), as the sha256 of their
canonical JSON (keys sorted, no whitespace). ``verify`` re-hashes the same files where the report says
they were and reads today's library versions, then says whether the hash is the same and, if not, which
components changed. Timings and measured latency are not part of it: they are observations, not inputs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def components(policy_sha256: str, files: dict[str, dict[str, Any]], libraries: dict[str, Any]) -> dict[str, Any]:
    """Return the hashed components: ``{"policy": sha, "files": {role: sha}, "libraries": {name: version}}``."""
    return {"policy": policy_sha256,
            "files": {role: f["sha256"] for role, f in sorted(files.items()) if isinstance(f, dict) and "sha256" in f},
            "libraries": dict(sorted(libraries.items()))}


def digest(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts`` (sorted keys, compact separators)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def verify(report_path: Path) -> dict[str, Any]:
    """Recompute a report's reproducibility hash from the same inputs, today.

    Parameters
    ----------
    report_path : pathlib.Path
        A ``gate_report.json``.

    Returns
    -------
    dict
        ``{"match": bool, "recorded": sha, "recomputed": sha, "differences": [str, ...]}``.

    Raises
    ------
    gatekit.errors.InputError
        The report is missing, not JSON, or has no reproducibility record.
    """
    from gatekit.errors import input_error
    from gatekit.inputs import sha256_file
    from gatekit.orchestrator import library_versions

    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise input_error("report not found", str(report_path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise input_error(f"not a JSON report: {exc}", str(report_path)) from None
    meta = report.get("metadata") if isinstance(report, dict) else None
    rec = (meta or {}).get("reproducibility")
    if not isinstance(rec, dict) or "sha256" not in rec:
        raise input_error("the report has no metadata.reproducibility record (written by gatekit 0.6 and later)",
                          str(report_path))
    recorded = rec["components"]
    differences: list[str] = []
    policy_path = meta.get("policy", {}).get("path")
    policy_sha = recorded["policy"]
    if policy_path:
        try:
            policy_sha = sha256_file(Path(policy_path))
        except OSError:
            differences.append(f"policy: {policy_path} cannot be read")
    files = {}
    for role, f in (meta.get("inputs", {}).get("files") or {}).items():
        try:
            files[role] = {"sha256": sha256_file(Path(f["path"]))}
        except (OSError, KeyError, TypeError):
            differences.append(f"{role}: {f.get('path') if isinstance(f, dict) else f} cannot be read")
            files[role] = {"sha256": None}
    now = components(policy_sha, files, {k: v for k, v in library_versions().items()
                                         if k in recorded["libraries"]})
    if now["policy"] != recorded["policy"]:
        differences.append(f"policy: sha256 {recorded['policy'][:12]}... is now {now['policy'][:12]}...")
    for role in sorted(set(recorded["files"]) | set(now["files"])):
        a, b = recorded["files"].get(role), now["files"].get(role)
        if a != b and b is not None:
            differences.append(f"{role}: sha256 {str(a)[:12]}... is now {str(b)[:12]}...")
    for lib in sorted(recorded["libraries"]):
        if recorded["libraries"][lib] != now["libraries"].get(lib):
            differences.append(f"{lib}: {recorded['libraries'][lib]} is now {now['libraries'].get(lib)}")
    recomputed = digest(now)
    return {"match": recomputed == rec["sha256"] and not differences, "recorded": rec["sha256"],
            "recomputed": recomputed, "differences": differences}
