"""What a KPI is computed for: a unit (cell, compound, community, 街道, department, property company, grid worker)
and a period of local (Asia/Shanghai) dates; who may read which unit.

Tickets keep the cell / compound / community codes they were anchored to (the boundary version in force on
entry), so a unit's tickets are a filter on those codes — never a spatial join against today's boundaries: a
cell redrawn mid-month keeps the tickets anchored to it before the redraw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from gis.access import AREA_ROLES, WIDE_ROLES, area_codes
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import AdminArea, CellStaff, Compound, GridCell, Organization, User
from gis.tickets.models import Ticket
from gis.tickets.sla import SHANGHAI

UNIT_LABELS = {
    "cell": "网格",
    "compound": "小区",
    "community": "社区",
    "street": "街道",
    "department": "职能部门",
    "property": "物业公司",
    "worker": "网格员",
}
AREA_KINDS = ("cell", "compound", "community", "street")
ORG_KINDS = {"department": "department", "property": "property_company"}  # unit kind → Organization.kind
_CODE = re.compile(r"^[0-9A-Za-z_.-]{1,60}$")
MAX_DAYS = 3 * 366 + 1
YEARS = (2001, 2100)  # the working calendar's table and last year's comparison stay in range


@dataclass(frozen=True)
class Period:
    """Local dates first … last, both included."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: date, last: date) -> Period:
        if last < first:
            raise InvalidInput(f"to ({last}) is before from ({first}): give from <= to (both dates included)")
        if (last - first).days >= MAX_DAYS:
            raise InvalidInput(f"a period is at most {MAX_DAYS} days; split {first}…{last}")
        return cls(first, last)._checked()

    def _checked(self) -> Period:
        if not (YEARS[0] <= self.first.year and self.last.year <= YEARS[1]):
            raise InvalidInput(f"dates must lie in the years {YEARS[0]}–{YEARS[1]}: got {self.first}…{self.last}")
        return self

    @classmethod
    def month(cls, month: str) -> Period:
        m = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if m is None or not 1 <= int(m.group(2)) <= 12 or not YEARS[0] <= int(m.group(1)) <= YEARS[1]:
            raise InvalidInput(f"month {month!r}: write it as YYYY-MM, e.g. 2026-11 (years {YEARS[0]}–{YEARS[1]})")
        first = date(int(m.group(1)), int(m.group(2)), 1)
        return cls(first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))._checked()

    @classmethod
    def quarter(cls, quarter: str) -> Period:
        m = re.fullmatch(r"(\d{4})-?Q([1-4])", quarter.upper())
        if m is None or not YEARS[0] <= int(m.group(1)) <= YEARS[1]:
            raise InvalidInput(f"quarter {quarter!r}: write it as YYYY-Qn, e.g. 2026-Q4 (years {YEARS[0]}–{YEARS[1]})")
        first = date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1)
        last = (first + timedelta(days=95)).replace(day=1) - timedelta(days=1)
        return cls(first, last)._checked()

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=SHANGHAI)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=SHANGHAI)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def last_year(self) -> Period:
        """The same dates a year earlier (29 February → 28 February)."""

        def back(d: date) -> date:
            return d.replace(year=d.year - 1, day=min(d.day, 28) if (d.month, d.day) == (2, 29) else d.day)

        return Period(back(self.first), back(self.last))

    def previous(self) -> Period:
        """The period of the same length just before (a month before a month, a quarter before a quarter)."""
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
            y, m = divmod(self.first.year * 12 + self.first.month - 1 - months, 12)
            first = date(y, m + 1, 1)
            return Period(first, self.first - timedelta(days=1))
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def label(self) -> str:
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"


@dataclass(frozen=True)
class Unit:
    kind: str
    code: str
    name: str
    organization_id: int | None = None
    user_id: int | None = None

    @property
    def label(self) -> str:
        return f"{UNIT_LABELS[self.kind]} {self.name}"


def resolve_unit(session: Session, kind: str, code: str) -> Unit:
    """The unit named by kind and code (422 for an unknown kind, 404 for an unknown code)."""
    if kind not in UNIT_LABELS:
        raise InvalidInput(f"unknown unit {kind!r}; use one of {', '.join(UNIT_LABELS)}")
    if not _CODE.match(code):
        raise InvalidInput(f"code {code!r} is not a code (letters, digits, '-', '_', '.')")
    name: str | None = None
    if kind == "cell":
        name = session.scalar(select(GridCell.name).where(GridCell.code == code).order_by(GridCell.valid_from.desc()))
    elif kind == "compound":
        name = session.scalar(select(Compound.name).where(Compound.code == code))
    elif kind in ("community", "street"):
        level = "community" if kind == "community" else "subdistrict"
        name = session.scalar(select(AdminArea.name).where(AdminArea.code == code, AdminArea.level == level))
    elif kind in ORG_KINDS:
        org = session.execute(
            select(Organization.id, Organization.name).where(
                Organization.code == code, Organization.kind == ORG_KINDS[kind]
            )
        ).first()
        if org is not None:
            return Unit(kind, code, org.name, organization_id=org.id)
    else:
        u = session.execute(select(User.id, User.full_name).where(User.username == code)).first()
        if u is not None:
            return Unit(kind, code, u.full_name, user_id=u.id)
    if name is None:
        raise NotFound(f"没有{UNIT_LABELS[kind]} {code} / no {kind} with code {code}")
    return Unit(kind, code, name)


def ticket_filter(unit: Unit) -> ColumnElement[bool]:
    """The tickets a unit answers for, by the codes they were anchored to or the organisation they were routed to."""
    if unit.kind == "cell":
        return Ticket.cell_code == unit.code
    if unit.kind == "compound":
        return Ticket.compound_code == unit.code
    if unit.kind == "community":
        return Ticket.community_code == unit.code
    if unit.kind == "street":
        return Ticket.community_code.startswith(unit.code, autoescape=True)
    if unit.kind in ORG_KINDS:
        return Ticket.unit_id == unit.organization_id
    # a grid worker: the tickets of the cells they staff (网格员 answers for the cell)
    return Ticket.cell_code.in_(select(CellStaff.cell_code).where(CellStaff.user_id == unit.user_id))


def worker_cells(session: Session, user_id: int) -> list[str]:
    return sorted(session.scalars(select(CellStaff.cell_code).where(CellStaff.user_id == user_id)))


def authorize(session: Session, user: User, unit: Unit) -> None:
    """Admins and planners read every unit; managers and grid workers the areas under their codes (and the
    workers of those cells); departments and property companies their own organisation. Others: 403."""
    if user.role in WIDE_ROLES:
        return
    if user.role in AREA_ROLES:
        scope = area_codes(session, user)
        codes = [unit.code] if unit.kind in AREA_KINDS else []
        if unit.kind == "worker" and unit.user_id is not None:
            if unit.user_id == user.id:
                return
            codes = worker_cells(session, unit.user_id)
        if codes and all(any(c.startswith(s) for s in scope) for c in codes):
            return
    elif (
        user.role in ("department", "property")
        and unit.kind == user.role
        and unit.organization_id is not None
        and unit.organization_id == user.organization_id
    ):
        return
    raise Forbidden(
        f"{unit.label} 不在您的考核范围 / {unit.kind} {unit.code} is outside what your account may evaluate"
    )
