"""The ``holdout:`` key: a budget on how often one set of evaluation rows may gate candidates of one model.

Reusing a holdout set to choose between many candidates overfits it: each decision taken on it leaks a
little of its noise into the model that is kept, so after enough adaptive looks its figures overstate
how the model does on new rows (Dwork et al., "The reusable holdout: Preserving validity in adaptive
data analysis", Science 349, 2015). The run history counts the looks; this key sets how many are
allowed (:mod:`gatekit.history.holdout` computes the check).
"""

from __future__ import annotations

from pydantic import Field

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import OnFailField, Spec


class HoldoutSpec(Spec):
    """How many candidates of one model the same evaluation rows may gate before they need refreshing.

    Parameters
    ----------
    budget : int
        The most distinct candidates (by model file sha256, else metrics file sha256) that the same
        evaluation data (by the data file's sha256, as the reproducibility record keeps it) may gate for
        this model, this run included. One more is a failure of the ``holdout_reuse`` check.
    on_fail : {"warn", "block"}
        Severity of the check past the budget; default ``warn``. Without a history store the count
        cannot be made: the check is ``not_computable`` (never a pass), which a ``block`` check turns into
        a block in strict mode.
    model : str, optional
        The model's name: runs of every policy that gives the same name count together (a policy renamed
        in a pull request keeps its count). Default: the policy's name.
    """

    budget: int = Field(ge=1, le=1_000_000)
    on_fail: OnFailField = OnFail.WARN
    model: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
