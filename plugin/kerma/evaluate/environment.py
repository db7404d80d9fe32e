"""What finders may consult besides the study: the DRLs in force and the history queries (one per batch)."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from ..drl.sets import LevelIndex, active_levels
from ..quantities import exam_quantities
from .history import History

DRL_KIND_SETS = {"any": ("local", "national"), "local": ("local",), "national": ("national",)}


class Environment:
    """The DRLs and achievable doses (read once) and the history queries, for one evaluation batch."""

    def __init__(self, session: Session):
        self.history = History(session)
        self._session = session

    @cached_property
    def _levels(self):
        return active_levels(self._session)  # local before national, as the statistics use them

    @cached_property
    def _achievable(self):
        return active_levels(self._session, ("achievable",))

    def achievable(self) -> LevelIndex:
        """The achievable doses (in force by date, per patient band, like the DRLs)."""
        return LevelIndex(self._achievable)

    def achievable_quantities(self) -> set[str]:
        """Examination-level quantities that have an achievable dose."""
        return {lv.quantity for lv in self._achievable} & {q.key for q in exam_quantities()}

    def drls(self, drl_kind: str) -> LevelIndex:
        """The DRL index for ``drl_kind`` (any: local first, then national)."""
        kinds = DRL_KIND_SETS[drl_kind]
        return LevelIndex([level for level in self._levels if level.kind in kinds])

    def drl_quantities(self, level: str) -> set[str]:
        """Quantities that have a DRL usable at ``level`` (a series is compared with per-exposure DRLs)."""
        with_drl, exam = {lv.quantity for lv in self._levels}, {q.key for q in exam_quantities()}
        return with_drl & exam if level == "exam" else with_drl - exam
