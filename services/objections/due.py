"""Due dates of objections, in working days (工作日) of config/calendar.py, and overdue.

Dates are Beijing dates. A ticket is due to be accepted within `objection_accept_days` working
days of its submission, and resolved within `objection_resolve_days` (a credit repair:
`objection_repair_days`) of its acceptance. Until it is accepted, the resolve date shown is
counted from the accept due date, the latest it can be. The day itself is not counted: submitted
on a Tuesday, accept within 2 working days means by Thursday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from config.calendar import ESTIMATED_MARK, WorkingDayCalendar, calendar_for
from config.settings import Settings
from models.enums import ObjectionKind, ObjectionStatus
from models.objection import Objection

OPEN_STATUSES = (ObjectionStatus.SUBMITTED, ObjectionStatus.ACCEPTED)


@dataclass(frozen=True)
class Deadlines:
    accept_days: int = 2
    resolve_days: int = 5
    repair_days: int = 10
    calendar: WorkingDayCalendar | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Deadlines:
        return cls(
            settings.objection_accept_days,
            settings.objection_resolve_days,
            settings.objection_repair_days,
            calendar_for(settings.holiday_overrides_path),
        )

    @property
    def _calendar(self) -> WorkingDayCalendar:
        return self.calendar or calendar_for()

    def accept_due(self, submitted_on: date) -> date:
        return self._calendar.add_working_days(submitted_on, self.accept_days)

    def resolve_due(self, accepted_on: date, kind: ObjectionKind | str) -> date:
        days = self.repair_days if kind == ObjectionKind.REPAIR else self.resolve_days
        return self._calendar.add_working_days(accepted_on, days)


def estimated_mark(*days: date) -> str:
    """（预计） after a due date computed on an estimated holiday calendar, else nothing."""
    return f"（{ESTIMATED_MARK}）" if calendar_for().is_estimated(*days) else ""


def is_overdue(objection: Objection, today: date) -> bool:
    """Past the due date of the step it is waiting for (acceptance, then resolution)."""
    if objection.status == ObjectionStatus.SUBMITTED:
        return today > objection.accept_due
    if objection.status == ObjectionStatus.ACCEPTED:
        return today > objection.resolve_due
    return False
