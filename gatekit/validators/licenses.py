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
    found = []
    for c in meta.get_all("Classifier") or []:
        if c.startswith("License :: "):
            name = c.split(" :: ")[-1]
            found.append(spdx(CLASSIFIERS.get(name, name)))  # "GNU General Public License (GPL)" -> a family
    found = [f for f in found if f != "OSI Approved"]
    short = field and "\n" not in field and len(field) <= 80 and field.upper() not in ("UNKNOWN", "NONE")
    # a License field that names a precise licence wins; a vague one ("LGPL", "BSD") yields to classifiers
    if short and (spdx(field) != field or not found) and not spdx(field).endswith("-unspecified"):
        return field, "License"
    if found:
        return " OR ".join(dict.fromkeys(found)), "classifiers"
    if short:
        return field, "License"
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
    # GNU family names without a precise version: the family is what allow / deny lists are about
    (r"(a ?gpl|agplv?3\+?|gnu affero general public license( v?3)?( or later)?( \(agplv3\+?\))?)",
     "AGPL-unspecified"),
    (r"(lgpl|lgplv?[23](\.[01])?\+?|gnu lesser general public license( v?[23])?( or later)?( \(lgplv?[23]\+?\))?|"
     r"gnu library or lesser general public license( \(lgpl\))?)", "LGPL-unspecified"),
    (r"(gpl|gplv?[23](\.0)?\+?|gnu general public license( v?[23])?( or later)?( \((gpl|gplv?[23]\+?)\))?|gnu gpl)",
     "GPL-unspecified"),
)


def spdx(name: str) -> str:
    """Return the SPDX identifier of a licence name as packages write it.

    ``Apache License 2.0`` -> ``Apache-2.0``; names it does not know are returned as given.
    """
    text = name.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    for pattern, ident in _ALIASES:
        if re.fullmatch(pattern, text, flags=re.IGNORECASE):
            return ident
    return text


def _match(lic: str, patterns: list[str]) -> bool:
    norm = spdx(lic).lower()
    return any(fnmatch.fnmatchcase(norm, p.lower()) for p in patterns)


def parse_expression(expr: str) -> Any:
    """Parse an SPDX licence expression into ``("OR" | "AND", [parts])`` / leaf strings.

    ``AND`` binds tighter than ``OR`` (SPDX); parentheses group; ``X WITH exception`` is ``X`` (an
    exception does not change the licence). A free-text name without operators is one leaf.

    Raises
    ------
    ValueError
        Unbalanced parentheses or an operator without an operand.
    """
    words = re.findall(r"\(|\)|[^\s()]+", expr)
    if not any(w in ("AND", "OR", "WITH") for w in words):
        return expr.strip()  # a name, perhaps with parentheses: "GNU General Public License (GPL)"
    pos = 0

    def peek() -> str | None:
        return words[pos] if pos < len(words) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(words):
            raise ValueError(f"licence expression {expr!r} ends early")
        pos += 1
        return words[pos - 1]

    def atom() -> Any:
        w = take()
        if w == "(":
            node = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {expr!r}")
            return node
        if w in ("AND", "OR", "WITH", ")"):
            raise ValueError(f"unexpected {w!r} in licence expression {expr!r}")
        name = [w]
        while peek() not in (None, "AND", "OR", "WITH", "(", ")"):
            name.append(take())  # a free-text name with spaces
        if peek() == "WITH":
            take()
            take()  # the exception's identifier
        return " ".join(name)

    def conjunction() -> Any:
        parts = [atom()]
        while peek() == "AND":
            take()
            parts.append(atom())
        return parts[0] if len(parts) == 1 else ("AND", parts)

    def disjunction() -> Any:
        parts = [conjunction()]
        while peek() == "OR":
            take()
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else ("OR", parts)

    node = disjunction()
    if pos != len(words):
        raise ValueError(f"unexpected {words[pos]!r} in licence expression {expr!r}")
    return node


def _leaves(node: Any) -> list[str]:
    return [node] if isinstance(node, str) else [leaf for part in node[1] for leaf in _leaves(part)]


def decide(lic: str | None, allow: list[str], deny: list[str], allow_unknown: bool) -> tuple[str, str]:
    """Return ``(status, why)``, status one of ``allowed``, ``denied``, ``not_allowed``, ``unknown``."""
    if lic is None:
        return ("allowed" if allow_unknown else "unknown"), "licence unknown"
    try:
        tree = parse_expression(lic)
    except ValueError as exc:
        pieces = [lic, *re.split(r"\s+(?:OR|AND)\s+", lic)]
        if any(_match(x, deny) for x in pieces):  # unreadable, but naming a denied licence: deny wins
            return "denied", f"{lic}: names a denied licence ({exc})"
        return ("allowed" if allow_unknown else "unknown"), str(exc)

    def ok(node: Any) -> bool:
        if isinstance(node, str):
            return not _match(node, deny) and (not allow or _match(node, allow))
        op, parts = node
        return any(ok(p) for p in parts) if op == "OR" else all(ok(p) for p in parts)

    if ok(tree):
        return "allowed", f"{lic} is allowed"
    leaves = _leaves(tree)
    denied = [x for x in leaves if _match(x, deny)]
    if denied:
        return "denied", f"{lic}: {', '.join(spdx(x) for x in denied)} denied"
    return "not_allowed", f"{lic}: {', '.join(spdx(x) for x in leaves if not _match(x, allow))} not in the allow list"


def requirement_names(path: Path, _seen: set[Path] | None = None) -> list[str]:
    r"""Return the package names of a requirements file (``pip freeze``, pip-compile or hand-written).

    ``-r`` / ``-c`` includes are followed (relative to the file); ``-e ...#egg=name`` and URL lines with
    ``#egg=`` give their name; other option lines (``--hash``, ``--index-url``) are skipped; ``\``
    continuations are joined; environment markers are kept with the requirement (not evaluated).

    Raises
    ------
    gatekit.core.errors.InputError
        A missing or unreadable file, an include cycle, or a line that is not a requirement (with its
        line number).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    from gatekit.core.errors import InputError, Problem, input_error

    seen = _seen if _seen is not None else set()
    path = path.resolve()
    if path in seen:
        raise input_error("requirements files include each other (a cycle)", str(path))
    seen.add(path)
    if not path.is_file():
        raise input_error("requirements file not found", str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        raise input_error(f"cannot read the requirements file as text: {exc}", str(path)) from None
    names, problems = [], []
    lines = text.replace("\\\n", " ").splitlines()
    for n, raw in enumerate(lines, 1):
        line = re.split(r"\s#", raw, maxsplit=1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
        if include:
            names.extend(requirement_names(path.parent / include.group(2), seen))
            continue
        egg = re.search(r"#egg=([A-Za-z0-9_.-]+)", raw)
        if egg:
            names.append(egg.group(1))
            continue
        if line.startswith("-") or "://" in line or line.startswith((".", "/")):
            continue  # options, URLs and local paths without a name: nothing to look up
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
        # PackageMetadata declares get() from Python 3.12 on; the email Message behind it has it on every version
        key = re.sub(r"[-_.]+", "-", (d.metadata.get("Name") or "")).lower()  # type: ignore[attr-defined]
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
