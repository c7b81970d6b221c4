"""The residents' 积分 ledger: append-only (a trigger refuses UPDATE and DELETE), tamper-evident (each entry carries
sha256(its content + the previous entry's hash), one chain per community), balances kept by a trigger and never
negative (CHECK), rules per community from config, and the monthly exchange day with goods and stock.

Writers of one community's chain queue on a transaction-scoped advisory lock: the chain never forks, and a
redemption reads a balance no one else is changing (the CHECK on points_balances backs it even so)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.models import User, utcnow
from gis.participation import access
from gis.participation.config import load_config
from gis.participation.models import ExchangeGoods, PointsBalance, PointsEntry
from gis.tickets.sla import SHANGHAI

GENESIS = "0" * 64
THOUSANDTH = Decimal("0.001")


def _qty(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


def entry_hash(e: PointsEntry) -> str:
    """sha256 over the entry's content and the previous entry's hash (a canonical JSON array)."""
    created = e.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    content = [
        e.community_code,
        e.seq,
        e.user_id,
        e.kind,
        e.rule,
        str(_qty(e.quantity)),
        e.points,
        e.ref,
        e.note,
        e.recorded_by_id,
        created,
        e.prev_hash,
    ]
    raw = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _lock_chain(session: Session, community: str) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('points:' || :c))"), {"c": community})


def append(
    session: Session,
    *,
    community: str,
    user_id: int,
    kind: str,
    rule: str | None,
    quantity: float | Decimal,
    points: int,
    ref: str | None = None,
    note: str | None = None,
    recorded_by_id: int | None = None,
    lock: bool = True,
) -> PointsEntry:
    """Append one entry to the community's chain (the caller checked the rule and the balance)."""
    if lock:
        _lock_chain(session, community)
    last = session.execute(
        select(PointsEntry.seq, PointsEntry.hash)
        .where(PointsEntry.community_code == community)
        .order_by(PointsEntry.seq.desc())
        .limit(1)
    ).first()
    entry = PointsEntry(
        community_code=community,
        seq=(last[0] + 1) if last else 1,
        user_id=user_id,
        kind=kind,
        rule=rule,
        quantity=_qty(quantity),
        points=points,
        ref=ref,
        note=note,
        recorded_by_id=recorded_by_id,
        created_at=utcnow(),
        prev_hash=last[1] if last else GENESIS,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "ck_points_balance_not_negative" in str(exc.orig):
            raise Conflict("积分余额不足 / the balance would go below zero") from exc
        raise
    return entry


def balance(session: Session, community: str, user_id: int) -> int:
    return (
        session.scalar(
            select(PointsBalance.balance).where(
                PointsBalance.community_code == community, PointsBalance.user_id == user_id
            )
        )
        or 0
    )


def _resident(session: Session, user_id: int) -> User:
    resident = session.get(User, user_id)
    if resident is None:
        raise NotFound(f"没有用户 {user_id} / no user {user_id}")
    return resident


def earn(
    session: Session,
    user: User,
    *,
    community: str,
    resident_id: int,
    rule: str,
    quantity: float,
    note: str | None = None,
) -> PointsEntry:
    """Record points earned by a resident under one of the community's rules (e.g. kg of sorted recyclables)."""
    access.require_community(session, user, community, roles=access.LEDGER_ROLES)
    access.community_name(session, community)
    r = load_config().points_for(community).rule(rule)
    if quantity <= 0:
        raise InvalidInput("数量须大于0 / quantity must be positive")
    points = int((_qty(quantity) * Decimal(str(r.points_per_unit))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if points < 1:
        raise InvalidInput(f"不足1分 / {quantity} {r.unit} earns less than one point under {r.code}")
    _resident(session, resident_id)
    return append(
        session,
        community=community,
        user_id=resident_id,
        kind="earn",
        rule=r.code,
        quantity=quantity,
        points=points,
        note=note,
        recorded_by_id=user.id,
    )


def exchange_open(community: str, today: date) -> None:
    """Redemptions happen on the community's exchange day (积分兑换日; every day when none is set)."""
    day = load_config().points_for(community).exchange_day
    if day is not None and today.day != day:
        raise Conflict(
            f"今天不是积分兑换日（每月{day}日）/ redemptions happen on the exchange day, the {day}th of each month",
            detail={"exchange_day": day},
        )


def redeem(
    session: Session,
    user: User,
    *,
    community: str,
    resident_id: int,
    goods_id: int,
    quantity: int = 1,
    today: date | None = None,
) -> PointsEntry:
    """Exchange points for goods on the exchange day: never beyond the balance, never beyond the stock."""
    access.require_community(session, user, community, roles=access.LEDGER_ROLES)
    exchange_open(community, today or utcnow().astimezone(SHANGHAI).date())
    if quantity < 1:
        raise InvalidInput("兑换数量至少为1 / quantity is at least 1")
    goods = session.get(ExchangeGoods, goods_id)
    if goods is None or goods.community_code != community or not goods.active:
        raise NotFound(f"本社区没有可兑换物品 {goods_id} / no goods {goods_id} on offer in {community}")
    _resident(session, resident_id)
    cost = goods.points_cost * quantity
    _lock_chain(session, community)  # from here on no one else writes this community's chain
    have = balance(session, community, resident_id)
    if have < cost:
        raise Conflict(
            f"积分不足：余额 {have}，需要 {cost} / redemption beyond the balance: {have} points, {cost} needed",
            detail={"balance": have, "cost": cost},
        )
    left = session.execute(
        update(ExchangeGoods)
        .where(ExchangeGoods.id == goods.id, ExchangeGoods.stock >= quantity)
        .values(stock=ExchangeGoods.stock - quantity)
        .returning(ExchangeGoods.stock)
    ).first()
    if left is None:
        session.refresh(goods)
        raise Conflict(f"库存不足：剩余 {goods.stock} / only {goods.stock} of {goods.name} left")
    return append(
        session,
        community=community,
        user_id=resident_id,
        kind="redeem",
        rule=None,
        quantity=quantity,
        points=-cost,
        ref=f"goods:{goods.id}",
        note=goods.name,
        recorded_by_id=user.id,
        lock=False,
    )


def entry_public(e: PointsEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "community_code": e.community_code,
        "seq": e.seq,
        "user_id": e.user_id,
        "kind": e.kind,
        "rule": e.rule,
        "quantity": float(e.quantity),
        "points": e.points,
        "ref": e.ref,
        "note": e.note,
        "created_at": e.created_at,
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    }


def history(
    session: Session,
    user: User,
    *,
    resident_id: int | None = None,
    community: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """A resident's balances and entries, newest first: their own, or (a community) any of its residents'."""
    who = resident_id if resident_id is not None else user.id
    if who != user.id:
        if community is None:
            raise InvalidInput("查看他人积分须指明社区 / name the community (?community=) to read a resident's points")
        access.require_community(session, user, community, roles=access.LEDGER_ROLES)
    where = [PointsEntry.user_id == who]
    bal_where = [PointsBalance.user_id == who]
    if community is not None:
        where.append(PointsEntry.community_code == community)
        bal_where.append(PointsBalance.community_code == community)
    entries = session.scalars(
        select(PointsEntry)
        .where(*where)
        .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    balances = session.execute(select(PointsBalance.community_code, PointsBalance.balance).where(*bal_where)).tuples()
    return {"user_id": who, "balances": dict(balances.all()), "entries": [entry_public(e) for e in entries]}


def balances(
    session: Session, user: User, community: str, *, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Every resident's balance in a community, highest first (the community's view)."""
    access.require_community(session, user, community, roles=access.LEDGER_ROLES)
    rows = session.execute(
        text(
            "SELECT b.user_id, u.full_name, b.balance FROM points_balances b JOIN users u ON u.id = b.user_id "
            "WHERE b.community_code = :c ORDER BY b.balance DESC, b.user_id LIMIT :l OFFSET :o"
        ),
        {"c": community, "l": limit, "o": offset},
    )
    return [{"user_id": u, "name": n, "balance": b} for u, n, b in rows]


def _entries_in_order(session: Session, community: str | None, batch: int = 2000) -> Iterator[PointsEntry]:
    """Entries by (community, seq), read in keyset pages (no cursor left open on the connection)."""
    after: tuple[str, int] = ("", 0)
    while True:
        stmt = select(PointsEntry).where(tuple_(PointsEntry.community_code, PointsEntry.seq) > after)
        if community is not None:
            stmt = stmt.where(PointsEntry.community_code == community)
        stmt = stmt.order_by(PointsEntry.community_code, PointsEntry.seq).limit(batch)
        # populate_existing: check what the database holds, not entries this session loaded before
        rows = list(session.scalars(stmt.execution_options(populate_existing=True)))
        yield from rows
        if len(rows) < batch:
            return
        after = (rows[-1].community_code, rows[-1].seq)


def verify(session: Session, *, community: str | None = None) -> dict[str, Any]:
    """Walk the chains (one community or all) and find the first broken link: an entry whose content no longer
    matches its hash, whose prev_hash is not its predecessor's hash, or a gap in the sequence."""
    checked, chains = 0, 0
    prev: dict[str, tuple[int, str]] = {}
    for e in _entries_in_order(session, community):
        want_seq, want_prev = prev.get(e.community_code, (1, GENESIS))
        if e.community_code not in prev:
            chains += 1
        reason = None
        if e.seq != want_seq:
            reason = f"sequence gap: expected {want_seq}, found {e.seq}"
        elif e.prev_hash != want_prev:
            reason = "prev_hash does not match the previous entry's hash"
        elif entry_hash(e) != e.hash:
            reason = "content does not match its hash (the entry was altered)"
        if reason is not None:
            return {
                "ok": False,
                "checked": checked,
                "chains": chains,
                "first_broken": {"id": e.id, "community_code": e.community_code, "seq": e.seq, "reason": reason},
            }
        prev[e.community_code] = (e.seq + 1, e.hash)
        checked += 1
    return {"ok": True, "checked": checked, "chains": chains, "first_broken": None}


def require_verifier(session: Session, user: User, community: str | None) -> None:
    if user.role == "admin":
        return
    if community is None:
        raise Forbidden("社区须指明 ?community= / a community verifies its own chain (?community=)")
    access.require_community(session, user, community, roles=access.LEDGER_ROLES)


# ---- exchange goods ----


def add_goods(
    session: Session, user: User, *, community: str, name: str, points_cost: int, stock: int
) -> ExchangeGoods:
    """Offer goods on the exchange day (or restock: the same name adds to the stock and sets the price)."""
    access.require_community(session, user, community)
    goods = session.scalar(
        select(ExchangeGoods).where(ExchangeGoods.community_code == community, ExchangeGoods.name == name)
    )
    if goods is None:
        goods = ExchangeGoods(community_code=community, name=name, points_cost=points_cost, stock=stock)
        session.add(goods)
    else:
        goods.points_cost, goods.stock, goods.active = points_cost, goods.stock + stock, True
    session.flush()
    return goods


def list_goods(session: Session, community: str) -> dict[str, Any]:
    """What a community offers on its exchange day."""
    access.community_name(session, community)
    rows = session.scalars(
        select(ExchangeGoods)
        .where(ExchangeGoods.community_code == community, ExchangeGoods.active.is_(True))
        .order_by(ExchangeGoods.points_cost)
    )
    policy = load_config().points_for(community)
    return {
        "community_code": community,
        "exchange_day": policy.exchange_day,
        "goods": [{"id": g.id, "name": g.name, "points_cost": g.points_cost, "stock": g.stock} for g in rows],
    }


def rules(community: str) -> dict[str, Any]:
    policy = load_config().points_for(community)
    return {
        "community_code": community,
        "exchange_day": policy.exchange_day,
        "rules": [
            {"code": r.code, "label": r.label, "unit": r.unit, "points_per_unit": r.points_per_unit}
            for r in policy.rules.values()
        ],
    }


def total_points(session: Session, community: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.sum(PointsBalance.balance), 0)).where(PointsBalance.community_code == community)
        )
        or 0
    )
