"""Preview and commit of a reference sheet, the same for every sheet.

Every row is read and checked (cell kinds, then the checks that need the database: unknown community,
unknown property company, a cell outside the uploader's jurisdiction, coordinates outside the 街道 …); errors
are listed by row and column with how to fix them. A row is then compared with what the database holds under
its key: created, updated (with the changed columns, before → after) or unchanged. Commit writes only when
no row has an error — nothing is half-imported — and in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gis import access
from gis.errors import Forbidden, GridError, InvalidInput, NotFound
from gis.models import User
from gis.reference import audit as trail
from gis.reference import checks
from gis.reference.models import ReferenceChange
from gis.sheets.columns import CellError, Column
from gis.sheets.files import read_table, write_table

Key = tuple[Any, ...]
Values = dict[str, Any]


@dataclass
class Context:
    """What a sheet's checks and writes share: the session, the uploader, their jurisdiction codes (None:
    the whole 街道) and lookups loaded once per import."""

    session: Session
    user: User | None
    codes: list[str] | None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> User:
        """Who the gis.reference write functions act for: the uploader, or for the command line (no user) an
        unsaved admin named "gridgov" (the audit rows say so; it is never added to the session)."""
        return self.user if self.user is not None else CLI_ACTOR

    def lookup(self, name: str, load: Callable[[], Any]) -> Any:
        if name not in self.cache:
            self.cache[name] = load()
        return self.cache[name]

    def in_scope(self, *codes: str | None) -> bool:
        """Whether one of `codes` lies under (or above) one of the uploader's jurisdiction codes."""
        if self.codes is None:
            return True
        return any(c and (c.startswith(j) or j.startswith(c)) for c in codes for j in self.codes)


CLI_ACTOR = User(username="gridgov", full_name="命令行 / command line", role="admin", is_active=True)


@dataclass(frozen=True)
class Sheet:
    """One kind of reference sheet.

    `load(ctx)` gives the rows the database holds (values by column key, within the uploader's jurisdiction),
    by key; `check(ctx, row)` completes a parsed row in place (ids, positions) and returns (column key,
    message) errors; `write(ctx, row, before)` creates (`before` None) or updates one row.

    `table` names the row's object in the reference audit trail (gis.reference.audit.SPECS; its key there is
    the sheet key joined by ":"). A sheet whose `write` calls the gis.reference write functions (`audited`)
    leaves its audit rows to them; for the others the engine records one (`audit`) per written row."""

    name: str
    title: str
    columns: list[Column]
    key: tuple[str, ...]
    load: Callable[[Context], dict[Key, Values]]
    check: Callable[[Context, Values, Values | None], list[tuple[str, str]]]
    write: Callable[[Context, Values, Values | None], None]
    roles: tuple[str, ...] = ("admin",)
    not_compared: tuple[str, ...] = ()  # columns read for placement only
    personal: tuple[str, ...] = ()  # columns of personal data: an export is recorded (gis.access.record_read)
    table: str | None = None  # the reference audit table of its rows
    audited: bool = False  # `write` goes through gis.reference, which records the audit rows itself
    audit_key: Callable[[Key], str] = lambda key: ":".join(str(k) for k in key)  # the object's key in the trail

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def compared(self) -> list[Column]:
        return [c for c in self.columns if not (c.info or c.write_only or c.key in self.not_compared)]


SHEETS: dict[str, Sheet] = {}


def register(sheet: Sheet) -> Sheet:
    SHEETS[sheet.name] = sheet
    return sheet


def get_sheet(name: str) -> Sheet:
    from gis.sheets import people, placed, places  # noqa: F401  (register the sheets)

    sheet = SHEETS.get(name)
    if sheet is None:
        raise NotFound(f"没有这种表 / no sheet {name!r}; sheets: {', '.join(SHEETS)}")
    return sheet


def context(session: Session, user: User | None, sheet: Sheet) -> Context:
    """The uploader's context; Forbidden for a role the sheet does not accept (None: a command-line admin)."""
    if user is None:
        return Context(session, None, None)
    if user.role not in sheet.roles:
        raise Forbidden(
            f"{sheet.title}只能由{'、'.join(sheet.roles)}导入导出 / "
            f"the {sheet.name} sheet is for {', '.join(sheet.roles)}"
        )
    wide = user.role in access.WIDE_ROLES
    return Context(session, user, None if wide else access.area_codes(session, user))


def template(sheet: Sheet, fmt: str) -> bytes:
    """An empty sheet with its Chinese headers (and the 说明 sheet in .xlsx)."""
    return write_table(sheet.title, sheet.columns, [], fmt)


def export(session: Session, user: User | None, sheet_name: str, fmt: str) -> bytes:
    """What the database holds, in the template's layout (within the user's jurisdiction)."""
    sheet = get_sheet(sheet_name)
    ctx = context(session, user, sheet)
    rows = sorted(sheet.load(ctx).items(), key=lambda kv: tuple(str(k) for k in kv[0]))
    if user is not None and sheet.personal and rows:
        access.record_read(session, user, subject=sheet.name, ref=f"export: {len(rows)}", fields=list(sheet.personal))
    return write_table(sheet.title, sheet.columns, [v for _, v in rows], fmt)


def audit(session: Session, user: User | None, what: str, key: Key, before: Values | None, after: Values) -> None:
    """The audit row of one onboarding write (sheet imports, `gridgov init`) in the reference audit trail
    (gis.reference.audit: who, when, the object's state before and after; readable in
    /v1/audit/reference-changes and revertable there). `what` is an audit table (gis.reference.audit.SPECS;
    the object is found by `key` joined by ":" and its state snapshotted) or another kind of object (the 街道
    row of `init`), recorded with the `before` / `after` values given. An update that changed nothing leaves
    no row."""
    object_key = ":".join(str(k) for k in key)
    spec = trail.SPECS.get(what)
    obj = spec.find(session, object_key) if spec is not None else None
    if spec is None or obj is None:
        if before == after:
            return
        session.add(
            ReferenceChange(
                user_id=user.id if user is not None else None, username=user.username if user else CLI_ACTOR.username,
                table_name=what, object_key=object_key[:120], action="create" if before is None else "update",
                before=before, after=after,
            )
        )  # fmt: skip
        session.flush()
        return
    trail.record(
        session, user or CLI_ACTOR, what, obj, action="create" if before is None else "update", before=before,
        community_code=checks.community_of_code(session, object_key.split(":")[0]),
    )  # fmt: skip


def _write_rows(sheet: Sheet, ctx: Context, todo: dict[Any, Any]) -> list[dict[str, Any]]:
    """Write the planned rows; a row the gis.reference checks refuse (jurisdiction, validation) becomes an
    error of its row and column, as the sheet's own checks give them."""
    errors: list[dict[str, Any]] = []
    spec = None if sheet.audited else trail.SPECS.get(sheet.table or "")  # the engine records the audit row
    for key, (n, row, before) in todo.items():
        object_key = sheet.audit_key(key)
        try:
            with ctx.session.begin_nested():
                obj = spec.find(ctx.session, object_key) if spec is not None else None
                prior = trail.snapshot(ctx.session, sheet.table or "", obj) if obj is not None else None
                sheet.write(ctx, row, before)
                ctx.session.flush()
                if spec is not None and sheet.table is not None:
                    audit(ctx.session, ctx.user, sheet.table, (object_key,), prior, {})
        except GridError as exc:
            field = (exc.detail or {}).get("field") if isinstance(exc.detail, dict) else None
            col = next((c for c in sheet.columns if c.key == field), None) or sheet.column(sheet.key[-1])
            errors.append({"row": n, "column": col.header, "value": row.get(col.key), "message": exc.message})
    return errors


def preview(session: Session, user: User | None, sheet_name: str, data: bytes, filename: str) -> dict[str, Any]:
    """What importing the file would do, without writing: created / updated / unchanged rows and every error."""
    report, todo = _plan(session, user, sheet_name, data, filename)
    _dry_run(session, sheet_name, report, todo)
    return report


def commit(session: Session, user: User | None, sheet_name: str, data: bytes, filename: str) -> dict[str, Any]:
    """Import the file: every row or, when any row has an error, none (InvalidInput with the report)."""
    report, todo = _plan(session, user, sheet_name, data, filename)
    if report["ok"]:
        ctx = todo.pop("_ctx")
        _add_errors(report, _write_rows(get_sheet(sheet_name), ctx, todo))
    else:
        _dry_run(session, sheet_name, report, todo)  # every error at once, those of gis.reference included
    if not report["ok"]:
        n = len(report["errors"])
        raise InvalidInput(
            f"{report['title']}有 {n} 处错误，未写入任何数据 / {n} error(s): nothing was written; fix the rows listed "
            "in detail.errors (row and column as the spreadsheet shows them) and upload again",
            detail=report,
        )
    session.flush()
    report["committed"] = True
    return report


def _dry_run(session: Session, sheet_name: str, report: dict[str, Any], todo: dict[Any, Any]) -> None:
    """Write the planned rows in a transaction that is rolled back, so the report has what the gis.reference
    checks refuse (jurisdiction, validation) as well as the sheet's own errors."""
    ctx = todo.pop("_ctx")
    if not todo:
        return
    savepoint = session.begin_nested()
    try:
        errors = _write_rows(get_sheet(sheet_name), ctx, todo)
    finally:
        savepoint.rollback()
        session.expire_all()
    _add_errors(report, errors)


def _add_errors(report: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    if errors:
        report["errors"] = sorted([*report["errors"], *errors], key=lambda e: (e["row"], e["column"]))
        report["ok"] = False


def _plan(
    session: Session, user: User | None, sheet_name: str, data: bytes, filename: str
) -> tuple[dict[str, Any], dict[Any, Any]]:
    sheet = get_sheet(sheet_name)
    ctx = context(session, user, sheet)
    table = read_table(data, filename, sheet.title, sheet.columns)
    existing = sheet.load(ctx)
    errors: list[dict[str, Any]] = []
    unplaced: list[dict[str, Any]] = []
    placed: list[dict[str, Any]] = []
    created: list[Any] = []
    updated: list[dict[str, Any]] = []
    unchanged = 0
    seen: dict[Key, int] = {}
    todo: dict[Any, Any] = {"_ctx": ctx}
    given = {c.key for c in table.columns}

    def error(n: int, key: str, message: str, raw: Any = None) -> None:
        col = sheet.column(key) if any(c.key == key for c in sheet.columns) else None
        errors.append({"row": n, "column": col.header if col else key, "value": raw, "message": message})

    for n, raw in table.rows:
        row: Values = {}
        bad = False
        for col in sheet.columns:
            if col.info or col.key not in given:
                continue
            try:
                row[col.key] = col.parse(raw.get(col.key))
            except CellError as exc:
                error(n, col.key, str(exc), raw.get(col.key))
                bad = True
        if bad or any(k not in row for k in sheet.key):
            continue
        key = tuple(row[k] for k in sheet.key)
        if key in seen:
            error(n, sheet.key[-1], f"与第 {seen[key]} 行重复 / duplicates row {seen[key]}: 每个编码只能出现一次")
            continue
        seen[key] = n
        before = existing.get(key)
        if before is not None:  # a column left out of the file keeps its value
            row = {**{c.key: before.get(c.key) for c in sheet.compared if c.key not in given}, **row}
        problems = sheet.check(ctx, row, before)
        for col_key, message in problems:
            if col_key == "_unplaced":
                unplaced.append({"row": n, "name": row.get("name"), "address": row.get("address"), "message": message})
            error(n, col_key if col_key != "_unplaced" else "lon", message)
        if problems:
            continue
        label = "/".join(str(k) for k in key)
        if row.get("_placed_on"):
            placed.append({"row": n, "name": row.get("name"), "placed_on": row["_placed_on"], "lon": row.get("lon"),
                           "lat": row.get("lat")})  # fmt: skip
        if before is None:
            created.append(label)
            todo[key] = (n, row, None)
            continue
        changes = {
            c.header: [c.show(before.get(c.key)), c.show(row.get(c.key))]
            for c in sheet.compared
            if _differs(before.get(c.key), row.get(c.key))
        }
        if changes:
            updated.append({"row": n, "key": label, "changes": changes})
            todo[key] = (n, row, before)
        else:
            unchanged += 1
    errors.sort(key=lambda e: (e["row"], e["column"]))
    report = {
        "sheet": sheet.name,
        "title": sheet.title,
        "rows": len(table.rows),
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "errors": errors,
        "unplaced": unplaced,
        "placed": placed,
        "ignored_columns": table.ignored_headers,
        "ok": not errors,
        "committed": False,
    }
    return report, todo


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is None or b is None or abs(float(a) - float(b)) > 1.5e-6
    return bool((a if a not in ("", []) else None) != (b if b not in ("", []) else None))
