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
import platform
from pathlib import Path
from typing import Any

from gatekit.core.version import __version__

LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "pydantic", "pyyaml", "skops", "jinja2",
             "great-expectations", "pandera", "evidently", "onnx", "onnxruntime", "skl2onnx", "cryptography",
             "packaging", "python-stdnum")


def components(policy_sha256: str, files: dict[str, dict[str, Any]], libraries: dict[str, Any],
               packages: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the hashed components: ``{"policy": sha, "files": {role: sha}, "libraries": {name: version}}``.

    ``packages`` (the versions of the packages a licence check read or a custom metric's entry point came from,
    None when not installed) is added when given: installing one of them changes that check's outcome.
    """
    out = {"policy": policy_sha256,
           "files": {role: f.get("sha256") for role, f in sorted(files.items()) if isinstance(f, dict)},
           "libraries": dict(sorted(libraries.items()))}
    if packages:
        out["packages"] = dict(sorted(packages.items()))
    return out


def _distribution_versions(names: Any) -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def installed_versions(names: Any) -> dict[str, str | None]:
    """Versions of the named distributions installed here (None for one that is not)."""
    return _distribution_versions(names)


def library_versions() -> dict[str, str | None]:
    """Installed versions of Python, gatekit and the libraries a report may depend on (None when not installed)."""
    return {"python": platform.python_version(), "gatekit": __version__, **_distribution_versions(LIBRARIES)}


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
    gatekit.core.errors.InputError
        The report is missing, not JSON, or has no reproducibility record.
    """
    from gatekit.core.errors import input_error
    from gatekit.core.hashing import sha256_regular_file

    if not report_path.is_file():
        raise input_error("report not found (or not a file)", str(report_path))
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise input_error(f"not a JSON report: {exc}", str(report_path)) from None
    try:
        meta = report["metadata"]
        rec = meta["reproducibility"]
        recorded = rec["components"]
        recorded_sha = str(rec["sha256"])
        policy_path = (meta.get("policy") or {}).get("path")
        files_meta = (meta.get("inputs") or {}).get("files") or {}
        if not (isinstance(recorded["files"], dict) and isinstance(recorded["libraries"], dict)
                and isinstance(files_meta, dict)):
            raise TypeError("malformed components")
        policy_sha = recorded["policy"]
    except (KeyError, TypeError, AttributeError):
        raise input_error("not a gatekit report with a metadata.reproducibility record (gatekit run writes one)",
                          str(report_path)) from None
    differences: list[str] = []
    if policy_path:
        now_policy = sha256_regular_file(policy_path)
        if now_policy is None:
            differences.append(f"policy: {policy_path} cannot be read")
        else:
            policy_sha = now_policy
    files = {}
    for role, f in files_meta.items():
        path = f.get("path") if isinstance(f, dict) else None
        files[role] = {"sha256": sha256_regular_file(path) if path else None}
        # a file missing at run time too is compared as missing; one that was read then is now gone
        if files[role]["sha256"] is None and not (isinstance(f, dict) and f.get("sha256") is None):
            differences.append(f"{role}: {path} cannot be read")
    packages = recorded.get("packages")
    if not isinstance(packages, dict):
        packages = {}
    now = components(policy_sha, files, {k: v for k, v in library_versions().items()
                                         if k in recorded["libraries"]},
                     installed_versions(packages) if packages else None)
    for name in sorted(packages):
        if packages[name] != now["packages"].get(name):
            differences.append(f"package {name}: {packages[name]} is now {now['packages'].get(name)} "
                               "(a licence check or a custom metric read it)")
    if now["policy"] != recorded["policy"]:
        differences.append(f"policy: sha256 {recorded['policy'][:12]}... is now {now['policy'][:12]}...")
    for role in sorted(set(recorded["files"]) | set(now["files"])):
        a, b = recorded["files"].get(role), now["files"].get(role)
        if a != b and (b is not None or a is None):
            differences.append(f"{role}: sha256 {str(a)[:12]}... is now {str(b)[:12]}...")
        elif a != b and not any(d.startswith(f"{role}:") for d in differences):
            differences.append(f"{role}: was {str(a)[:12]}..., now missing")
    for lib in sorted(recorded["libraries"]):
        if recorded["libraries"][lib] != now["libraries"].get(lib):
            differences.append(f"{lib}: {recorded['libraries'][lib]} is now {now['libraries'].get(lib)}")
    recomputed = digest(now)
    return {"match": recomputed == recorded_sha and not differences, "recorded": recorded_sha,
            "recomputed": recomputed, "differences": differences}
