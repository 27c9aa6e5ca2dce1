"""Licences of a model's runtime packages against the policy's allow and deny lists.

A package's licence is read from its installed metadata (``importlib.metadata``; gatekit never
downloads): the PEP 639 ``License-Expression`` first, then a short ``License`` field (common free-text
names such as ``Apache License 2.0`` or ``3-Clause BSD`` mapped to SPDX), then the trove classifiers
``License :: ...`` mapped to SPDX identifiers. Allow and deny entries are SPDX identifiers
or shell patterns (``BSD-*``, ``GPL-*``), compared case-insensitively. An SPDX expression with ``OR``
is allowed when one of its alternatives is (a denied alternative is simply not the one chosen); with
``AND`` every part must be allowed and none denied. Fail closed: a package that is not installed, or
whose licence cannot be read, is ``unknown`` and not allowed unless the policy sets ``allow_unknown``.
"""

from __future__ import annotations

import fnmatch
import re
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

CLASSIFIERS = {
    "MIT License": "MIT", "MIT No Attribution License (MIT-0)": "MIT-0",
    "BSD License": "BSD", "Apache Software License": "Apache-2.0", "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0", "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "The Unlicense (Unlicense)": "Unlicense", "Zope Public License": "ZPL-2.1",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only", "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0", "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
}


def package_license(dist: Any) -> tuple[str | None, str]:
    """Return ``(licence, where it was read)`` for an installed distribution; licence None if unreadable."""
    meta = dist.metadata
    expr = meta.get("License-Expression")
    if expr:
        return expr.strip(), "License-Expression"
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 80 and field.upper() not in ("UNKNOWN", "NONE"):
        return field, "License"
    found = []
    for c in meta.get_all("Classifier") or []:
        if c.startswith("License :: "):
            name = c.split(" :: ")[-1]
            found.append(CLASSIFIERS.get(name, name))
    found = [f for f in found if f != "OSI Approved"]
    if found:
        return " OR ".join(dict.fromkeys(found)), "classifiers"
    return None, "no licence in the package metadata"


_ALIASES = (  # free-text licence names as packages write them -> SPDX identifiers
    (r"(the )?mit( license)?", "MIT"),
    (r"apache( software)?( license)?,?( version| v)? ?2(\.0)?( license)?", "Apache-2.0"),
    (r"((3|three)[- ]clause bsd( license)?|bsd[- ]3[- ]clause( license)?|new bsd( license)?|modified bsd( license)?)",
     "BSD-3-Clause"),
    (r"((2|two)[- ]clause bsd( license)?|bsd[- ]2[- ]clause( license)?|simplified bsd( license)?)", "BSD-2-Clause"),
    (r"bsd( license)?", "BSD"),
    (r"(psfl?|python software foundation( license)?)", "PSF-2.0"),
    (r"isc( license)?", "ISC"),
    (r"(mpl[- ]?2(\.0)?|mozilla public license 2(\.0)?)", "MPL-2.0"),
)


def spdx(name: str) -> str:
    """Return the SPDX identifier of a licence name as packages write it.

    ``Apache License 2.0`` -> ``Apache-2.0``; names it does not know are returned as given.
    """
    text = name.strip().strip("()")
    for pattern, ident in _ALIASES:
        if re.fullmatch(pattern, text, flags=re.IGNORECASE):
            return ident
    return text


def _match(lic: str, patterns: list[str]) -> bool:
    norm = spdx(lic).lower()
    return any(fnmatch.fnmatchcase(norm, p.lower()) for p in patterns)


def decide(lic: str | None, allow: list[str], deny: list[str], allow_unknown: bool) -> tuple[str, str]:
    """Return ``(status, why)``, status one of ``allowed``, ``denied``, ``not_allowed``, ``unknown``."""
    if lic is None:
        return ("allowed" if allow_unknown else "unknown"), "licence unknown"
    alternatives = [a.strip() for a in re.split(r"\s+OR\s+", lic.strip().strip("()"))]
    reasons = []
    for alt in alternatives:
        parts = [p.strip().strip("()") for p in re.split(r"\s+AND\s+", alt)]
        parts = [re.sub(r"\s+WITH\s+.*$", "", p) for p in parts]  # an exception does not change the licence
        if any(_match(p, deny) for p in parts):
            reasons.append(f"{alt} is denied")
            continue
        if not allow or all(_match(p, allow) for p in parts):
            return "allowed", f"{alt} is allowed"
        reasons.append(f"{alt} is not in the allow list")
    status = "denied" if any(r.endswith("denied") for r in reasons) else "not_allowed"
    return status, "; ".join(reasons)


def requirement_names(path: Path) -> list[str]:
    """Package names of a requirements file (``pip freeze`` or hand-written; options and URLs skipped).

    Raises
    ------
    gatekit.errors.InputError
        Missing file or a line that is not a requirement (with its line number).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    from gatekit.errors import InputError, Problem, input_error

    if not path.is_file():
        raise input_error("requirements file not found", str(path))
    names, problems = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "http://", "https://", "git+")):
            continue
        try:
            names.append(Requirement(line).name)
        except InvalidRequirement as exc:
            problems.append(Problem(f"not a requirement: {exc}", str(path), n))
    if problems:
        raise InputError(problems)
    return names


def check(names: list[str] | None, allow: list[str], deny: list[str], allow_unknown: bool) -> list[dict[str, Any]]:
    """One record per package: name, version, licence, source, status, why.

    Parameters
    ----------
    names : list of str or None
        Packages to check; None checks every distribution installed in this environment.
    allow, deny : list of str
        SPDX identifiers or shell patterns.
    allow_unknown : bool
        Let a package whose licence cannot be read pass.
    """
    dists: dict[str, Any] = {}
    for d in importlib_metadata.distributions():
        key = re.sub(r"[-_.]+", "-", (d.metadata.get("Name") or "")).lower()
        if key:
            dists.setdefault(key, d)
    wanted = sorted(dists) if names is None else [re.sub(r"[-_.]+", "-", n).lower() for n in names]
    out = []
    for name in dict.fromkeys(wanted):
        dist = dists.get(name)
        if dist is None:
            status, why = decide(None, allow, deny, allow_unknown)
            out.append({"package": name, "version": None, "license": None, "source": "not installed here "
                        "(gatekit never downloads)", "status": status, "why": why})
            continue
        lic, source = package_license(dist)
        status, why = decide(lic, allow, deny, allow_unknown)
        out.append({"package": name, "version": dist.version, "license": lic, "source": source, "status": status,
                    "why": why})
    return out
