"""Races through real concurrent connections (committed data, removed afterwards): the last place of an item goes
to exactly one claimant, one member's two overlapping claims cannot both land, and concurrent redemptions never
overdraw a balance."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from gis.auth import create_user
from gis.errors import Conflict
from gis.models import ApiToken, Compound, User
from gis.participation import claims, items, ledger
from gis.participation.models import Claim, ExchangeGoods, Member, PointsBalance, PointsEntry, ServiceItem

COMMUNITY = "370102010001"  # a demo community
N = 6


@pytest.fixture()
def crowd(engine: Engine) -> Iterator[dict[str, Any]]:
    """A manager and N confirmed members of a demo community, committed; everything they make is removed after."""
    with Session(engine) as s:
        compound = s.scalar(select(Compound.code).where(Compound.code.startswith(COMMUNITY)).order_by(Compound.code))
        manager = create_user(
            s,
            username="race-manager",
            password="race-password",
            full_name="社区",
            role="manager",
            jurisdiction=[COMMUNITY],
        )
        users = [
            create_user(s, username=f"race-{k}", password="race-password", full_name=f"志愿者{k}", role="resident")
            for k in range(N)
        ]
        s.flush()
        for u in users:
            s.add(
                Member(
                    user_id=u.id,
                    kind="volunteer",
                    name=u.full_name,
                    phone="13800000000",
                    community_code=COMMUNITY,
                    status="confirmed",
                )
            )
        s.commit()
        ids = {"manager": manager.id, "users": [u.id for u in users], "compound": compound}
    yield ids
    everyone = [ids["manager"], *ids["users"]]
    with Session(engine) as s:
        s.execute(delete(ServiceItem).where(ServiceItem.created_by_id == ids["manager"]))  # claims cascade
        s.execute(text("ALTER TABLE points_entries DISABLE TRIGGER points_entries_append_only"))
        s.execute(delete(PointsEntry).where(PointsEntry.user_id.in_(everyone)))
        s.execute(text("ALTER TABLE points_entries ENABLE TRIGGER points_entries_append_only"))
        s.execute(delete(PointsBalance).where(PointsBalance.user_id.in_(everyone)))
        s.execute(delete(ExchangeGoods).where(ExchangeGoods.name == "竞争测试物品"))
        s.execute(delete(Member).where(Member.user_id.in_(everyone)))
        s.execute(delete(ApiToken).where(ApiToken.user_id.in_(everyone)))
        s.execute(delete(User).where(User.id.in_(everyone)))
        s.commit()


def _race(engine: Engine, jobs: list[Callable[[Session], Any]]) -> list[Any]:
    """Run each job in its own thread and connection, released together; the result or the Conflict of each."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(k: int) -> None:
        with Session(engine) as s:
            s.execute(text("SELECT 1"))  # connected before the start
            barrier.wait()
            try:
                results[k] = jobs[k](s)
                s.commit()
            except Conflict as exc:
                s.rollback()
                results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _item(engine: Engine, crowd: dict[str, Any], *, capacity: int, start_h: float = 5, title: str = "夜间巡逻") -> int:
    with Session(engine) as s:
        manager = s.get(User, crowd["manager"])
        assert manager is not None
        start = datetime.now(UTC) + timedelta(hours=start_h)
        item = items.publish(
            s,
            manager,
            community_code=COMMUNITY,
            kind="security_patrol",
            title=title,
            place=items.Place("compound", code=crowd["compound"]),
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            capacity=capacity,
        )
        s.commit()
        return item.id


def _user(s: Session, uid: int) -> User:
    u = s.get(User, uid)
    assert u is not None
    return u


def test_the_last_place_goes_to_exactly_one(engine: Engine, crowd: dict[str, Any]) -> None:
    item_id = _item(engine, crowd, capacity=1)
    jobs = [lambda s, uid=uid: claims.claim(s, _user(s, uid), item_id) for uid in crowd["users"]]
    results = _race(engine, jobs)
    won = [r for r in results if isinstance(r, list)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == N - 1, results
    assert all("beyond capacity" in e.message for e in lost)
    with Session(engine) as s:
        assert s.scalar(select(ServiceItem.claimed).where(ServiceItem.id == item_id)) == 1
        live = select(func.count()).where(Claim.item_id == item_id, Claim.status == "claimed")
        assert s.scalar(live) == 1


def test_one_member_cannot_land_two_overlapping_claims(engine: Engine, crowd: dict[str, Any]) -> None:
    a = _item(engine, crowd, capacity=5, start_h=30, title="助老上午")
    b = _item(engine, crowd, capacity=5, start_h=31, title="助老中午")  # overlaps a by an hour
    uid = crowd["users"][0]
    results = _race(engine, [lambda s: claims.claim(s, _user(s, uid), a), lambda s: claims.claim(s, _user(s, uid), b)])
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "list"], results
    with Session(engine) as s:
        member = s.scalar(select(Member.id).where(Member.user_id == uid))
        assert s.scalar(select(func.count()).where(Claim.member_id == member, Claim.status == "claimed")) == 1
        assert s.scalar(select(func.sum(ServiceItem.claimed)).where(ServiceItem.id.in_([a, b]))) == 1


def test_concurrent_redemptions_never_overdraw(engine: Engine, crowd: dict[str, Any]) -> None:
    resident = crowd["users"][0]
    with Session(engine) as s:
        manager = _user(s, crowd["manager"])
        ledger.earn(s, manager, community=COMMUNITY, resident_id=resident, rule="recyclables_kg", quantity=5)  # 10
        goods = ledger.add_goods(s, manager, community=COMMUNITY, name="竞争测试物品", points_cost=10, stock=10)
        s.commit()
        goods_id = goods.id
    exchange_day = date(2026, 12, 6)
    jobs = [
        lambda s: ledger.redeem(
            s,
            _user(s, crowd["manager"]),
            community=COMMUNITY,
            resident_id=resident,
            goods_id=goods_id,
            today=exchange_day,
        )
        for _ in range(N)
    ]
    results = _race(engine, jobs)
    won = [r for r in results if isinstance(r, PointsEntry)]
    assert len(won) == 1, results
    assert all("beyond the balance" in r.message for r in results if isinstance(r, Conflict))
    with Session(engine) as s:
        assert ledger.balance(s, COMMUNITY, resident) == 0
        assert s.scalar(select(ExchangeGoods.stock).where(ExchangeGoods.id == goods_id)) == 9
        assert ledger.verify(s, community=COMMUNITY)["ok"]
