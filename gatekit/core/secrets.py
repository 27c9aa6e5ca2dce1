"""Masking secrets in messages: one rule for every store URL gatekit may quote (history, MLflow)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote


def mask_each(text: str, secrets: Iterable[str], short_user: bool = False) -> str:
    """Replace each secret in ``text`` with ``***``, in its plain, URL-quoted and URL-unquoted forms.

    Longer secrets first (a secret inside another is never left half shown). A secret under 4 characters is
    masked only where it sits as a password (``:secret@``), as a user that is a token (``secret@``, with
    ``short_user``) or as a parameter's value (``=secret``), so that masking never garbles the rest.

    Parameters
    ----------
    text : str
        A message that may quote a URL.
    secrets : iterable of str
        The secrets (empty strings are ignored).
    short_user : bool
        Also mask a short secret where it stands as the user part (``secret@``): a token given as the user.

    Returns
    -------
    str
    """
    forms: set[str] = set()
    for s in filter(None, secrets):
        forms |= {s, quote(s, safe=""), quote(s, safe="/"), unquote(s)}
    for secret in sorted(filter(None, forms), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
        else:
            text = text.replace(f":{secret}@", ":***@")
            if short_user:
                text = text.replace(f"{secret}@", "***@")
            text = re.sub(rf"=({re.escape(secret)})(?=$|[&;#\s'\"])", "=***", text)
    return text
