"""The one normal form of a class label.

Shared by the data loaders (targets, predictions, canary arms) and by model scoring (a model's
``classes_``): ``1``, ``1.0``, ``"1"`` and ``True`` are the same label; text compares case-insensitively after
stripping spaces.
"""

from __future__ import annotations

from typing import Any


def norm_label(v: Any) -> Any:
    """Return a class label in one normal form.

    Numbers, numeric text, booleans and "true"/"false" become floats; other text is stripped and
    lower-cased. An integer too large for a float stays an exact integer (never an OverflowError).
    """
    if isinstance(v, str):
        t = v.strip().lower()
        if t in ("true", "false"):
            return 1.0 if t == "true" else 0.0
        try:
            return float(t)
        except ValueError:
            return t
    try:
        return float(v)
    except OverflowError:
        return int(v)
    except (TypeError, ValueError):
        return str(v).strip().lower()
