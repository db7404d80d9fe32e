"""The estimate's uncertainty: the components of ``data/uncertainty_components.csv`` that apply, and the reasons."""

from __future__ import annotations

from ..uncertainty import Uncertainty, combine
from .tables import rows


def uncertainty(conditions: set[str], reasons: list[str], estimated: bool) -> Uncertainty:
    """Components whose ``applies`` is ``always`` or one of ``conditions``, combined in quadrature.

    Parameters
    ----------
    conditions : set of str
        What the estimate had to assume (``estimated_table``, ``estimated_height``, ``estimated_field``).
    reasons : list of str
        Plain-language statements of what is missing or assumed, kept in order.
    estimated : bool
        False when there is no estimate at all (no relative uncertainty then).
    """
    return combine(rows("uncertainty_components.csv"), conditions, reasons, estimated)
