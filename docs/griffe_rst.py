"""A griffe extension for the API reference (mkdocs.yml): Sphinx roles in gatekit's docstrings shown as code.

gatekit's numpydoc docstrings cross-reference with Sphinx roles (``:class:`~gatekit.report.Report```), which
mkdocstrings would print literally. Each role becomes a Markdown code span: the last name with ``~``
(``Report``), the whole path without. Only the rendering changes; the docstrings are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:mod|class|func|data|meth|attr|exc|obj|command|const):`(~?)([^`]+)`")


def _code(m: re.Match[str]) -> str:
    tilde, target = m.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`target``` as a code span in every docstring griffe loads."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        """Rewrite the roles of one object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
