"""The outbox end to end: a ticket's life writes exactly the expected messages in its own transactions, the
delivery job sends each once, failures are retried with backoff and then marked failed with the channel's
answer, a killed worker resends nothing acknowledged, quiet hours hold SMS until morning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from gis.models import Compound
from gis.notify import area_events
from gis.notify import config as notify_config
from gis.notify.emit import Event, emit
from gis.notify.models import NotifyPreference, OutboxAttempt, OutboxMessage
from gis.notify.receiver import Receiver
from gis.patrol import worklog
from tests.notify.conftest import Mailbox, channel_config, deliver
from tests.tickets.conftest import Area, ok, report

PHONE = "13900000009"


@pytest.fixture(autouse=True)
def _demo_messages_sent(session: Session) -> None:
    """The demo 街道's tickets queued messages when the test database was loaded: out of the way (this test's
    transaction only), so a test counts its own."""
    session.execute(update(OutboxMessage).where(OutboxMessage.status == "queued").values(status="cancelled"))
    session.commit()


def _messages(session: Session, ticket_id: int) -> list[tuple[str, str, str | None]]:
    rows = session.execute(
        select(OutboxMessage.event, OutboxMessage.channel, OutboxMessage.address)
        .where(OutboxMessage.ticket_id == ticket_id)
        .order_by(OutboxMessage.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_ticket_life_produces_exactly_the_expected_messages(
    client: TestClient, session: Session, sessions: sessionmaker[Session], area: Area, channels: object,
    receiver: Receiver, mailbox: tuple[Mailbox, int],
) -> None:  # fmt: skip
    police = area.departments["police"].id
    unit_user, unit = area.make_user("department", organization_id=police, phone="13700000003")
    session.add(NotifyPreference(user_id=unit_user.id, muted=[], email="police@test.local"))
    session.commit()
    # a 12345 hotline call taken by the dispatcher: the caller gets SMS receipts
    t = report(client, area.dispatcher, channel="hotline_12345", reporter_name="王女士", reporter_phone=PHONE,
               address="测试小区3号楼")["id"]  # fmt: skip
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "dispatch", payload={"unit_id": police})
    ok(client, unit, t, "claim")
    ok(client, unit, t, "resolve", note="已处理")
    token = session.scalar(select(OutboxMessage.link).where(OutboxMessage.event == "resolved"))
    assert token is not None
    assert _messages(session, t) == [
        ("received", "sms", PHONE),
        ("dispatched", "inbox", None),
        ("dispatched", "sms", "13700000003"),
        ("dispatched", "email", "police@test.local"),
        ("resolved", "sms", PHONE),
    ]
    stats = deliver(sessions)
    assert (stats.claimed, stats.delivered, stats.failed) == (4, 4, 0)
    sms = receiver.state.of("sms")
    assert [json.loads(m["TemplateParam"])["ticket_id"] for m in sms] == [str(t)] * 3
    assert {m["PhoneNumbers"] for m in sms} == {PHONE, "13700000003"}
    resolved = next(m for m in sms if m["PhoneNumbers"] == PHONE and "rate_link" in m["TemplateParam"]
                    and m["OutId"].startswith("resolved"))  # fmt: skip
    assert "/rating?token=" in json.loads(resolved["TemplateParam"])["rate_link"]
    [mail] = mailbox[0].messages
    assert mail["Subject"].startswith(f"新派工单 #{t}") and "测试小区3号楼" in mail.get_body().get_content()  # type: ignore[union-attr]
    # the unit user's in-app inbox
    inbox = client.get("/v1/me/notifications", headers=unit).json()
    assert inbox["unread"] == 1 and inbox["items"][0]["title"].startswith(f"新派工单 #{t}")
    assert deliver(sessions).claimed == 0  # nothing is ever sent twice


def test_escalation_calls_every_department_and_tells_the_street_group(
    client: TestClient, session: Session, sessions: sessionmaker[Session], area: Area, channels: object,
    receiver: Receiver,
) -> None:  # fmt: skip
    fire, police = area.departments["fire"].id, area.departments["police"].id
    area.make_user("department", organization_id=fire)
    area.make_user("department", organization_id=police)
    t = report(client, area.resident)["id"]
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "escalate", payload={"organization_ids": [fire, police]})
    got = _messages(session, t)
    assert sorted(e for e, c, _ in got if c == "inbox" and e == "escalation_call") == ["escalation_call"] * 2
    assert ("escalated", "inbox", None) in got  # the community's manager
    assert {c for e, c, _ in got if e == "escalated" and c != "inbox"} == {"wecom", "dingtalk", "feishu"}
    deliver(sessions)
    [wecom] = receiver.state.of("wecom")
    assert "吹哨" in wecom["text"] and "测试fire部门" in wecom["text"]
    assert len(receiver.state.of("dingtalk")) == len(receiver.state.of("feishu")) == 1


def test_a_receiver_failing_twice_then_succeeding_gets_the_message_once(
    session: Session, sessions: sessionmaker[Session], channels: object, receiver: Receiver,
) -> None:  # fmt: skip
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    ev = Event("escalated", "retry-test", {"ticket_id": 1, "unit": "消防"}, place_code="990000000001001")
    emit(session, ev, now=now)
    session.commit()
    receiver.state.fail("wecom", "500", "reject")
    assert deliver(sessions, now).retried == 1  # 500
    assert deliver(sessions, now).claimed == 0  # not due before its backoff
    assert deliver(sessions, now + timedelta(seconds=10)).retried == 1  # errcode 45009
    assert deliver(sessions, now + timedelta(seconds=30)).delivered == 1
    assert len(receiver.state.of("wecom")) == 1
    m = session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "wecom"))
    assert m is not None and m.status == "delivered" and m.attempts == 3
    answers = [(a.ok, a.status_code) for a in session.scalars(
        select(OutboxAttempt).where(OutboxAttempt.message_id == m.id).order_by(OutboxAttempt.id))]  # fmt: skip
    assert answers == [(False, 500), (False, 200), (True, 200)]
    assert deliver(sessions, now + timedelta(days=1)).claimed == 0


def test_timeouts_are_retried_with_backoff_then_failed_with_the_answer(
    session: Session, sessions: sessionmaker[Session], channels: object, receiver: Receiver,
) -> None:  # fmt: skip
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    emit(session, Event("escalated", "fail-test", {"ticket_id": 2}, place_code="990000000001001"), now=now)
    session.commit()
    receiver.state.fail("dingtalk", "timeout", "500", "reject")
    deliver(sessions, now)
    deliver(sessions, now + timedelta(seconds=10))  # base 10 s
    assert deliver(sessions, now + timedelta(seconds=29)).claimed == 0  # second backoff: 20 s
    assert deliver(sessions, now + timedelta(seconds=30)).failed == 1
    m = session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "dingtalk"))
    assert m is not None and m.status == "failed" and m.attempts == 3
    assert m.last_error == "errcode=130101"
    assert receiver.state.of("dingtalk") == []
    assert deliver(sessions, now + timedelta(days=1)).claimed == 0  # failed stays failed until an admin resends


def test_a_worker_killed_mid_delivery_resends_nothing_acknowledged(
    session: Session, sessions: sessionmaker[Session], channels: object, receiver: Receiver,
) -> None:  # fmt: skip
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    emit(session, Event("escalated", "crash-test", {"ticket_id": 3}, place_code="990000000001001"), now=now)
    session.commit()
    # a worker claimed all three robot messages, got WeCom's acknowledgement recorded, then died
    from gis.notify.deliver import Deliverer, claim

    d = Deliverer(sessions)
    rows = claim(session, now=now, limit=10, cfg=d.cfg)
    assert len(rows) == 3
    d._one(next(r for r in rows if r["channel"] == "wecom"), now)
    d.close()
    assert deliver(sessions, now).claimed == 0  # the others are leased to the dead worker for a while
    later = now + timedelta(seconds=channels.retry.lease_seconds + 1)  # type: ignore[attr-defined]
    assert deliver(sessions, later).delivered == 2
    assert len(receiver.state.of("wecom")) == 1  # acknowledged once, never again
    assert len(receiver.state.of("dingtalk")) == len(receiver.state.of("feishu")) == 1


def test_the_same_event_twice_writes_its_messages_once(session: Session, area: Area, channels: object) -> None:
    del area
    ev = Event("escalated", "dup-test", {"ticket_id": 4}, place_code="990000000001001", area_codes=["990000000001"])
    first = emit(session, ev)
    assert first >= 4 and emit(session, ev) == 0


def test_quiet_hours_hold_sms_until_morning_except_urgent(
    session: Session, area: Area, receiver: Receiver, mailbox: tuple[Mailbox, int], monkeypatch: object,
) -> None:  # fmt: skip
    del area
    cfg = channel_config(receiver.url, mailbox[1], quiet_hours={"start": "22:00", "end": "07:00"})
    notify_config.set_config(cfg)
    try:
        night = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Beijing
        people = [("1", PHONE, "hotline_12345")]
        from gis.notify.emit import Reporter

        for name, urgent in (("calm", False), ("urgent", True)):
            ev = Event("received", name, {"ticket_id": 5}, reporters=[Reporter(None, people[0][1], "hotline_12345")],
                       urgent=urgent)  # fmt: skip
            emit(session, ev, now=night)
        due = dict(session.execute(select(OutboxMessage.key, OutboxMessage.next_attempt_at)
                                   .where(OutboxMessage.channel == "sms")).tuples().all())  # fmt: skip
        calm = next(v for k, v in due.items() if ":calm:" in k)
        urgent = next(v for k, v in due.items() if ":urgent:" in k)
        assert calm == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 07:00 Beijing the next morning
        assert urgent == night
    finally:
        notify_config.set_config(None)


def test_a_retry_falling_into_quiet_hours_waits_for_morning_an_urgent_one_goes_out(
    session: Session, sessions: sessionmaker[Session], area: Area, channels: object, receiver: Receiver,
) -> None:  # fmt: skip
    """Quiet hours hold at delivery: an SMS whose retry comes due at night is moved to 07:00 (not sent, not an
    attempt); an urgent one (重大风险) goes out at night; a user's own quiet hours win over the config's."""
    from gis.notify.emit import Reporter

    cfg = channel_config(receiver.url, 0, quiet_hours={"start": "22:00", "end": "07:00"})
    notify_config.set_config(cfg)
    evening = datetime(2026, 12, 1, 13, 59, 55, tzinfo=UTC)  # 21:59:55 in Beijing: not quiet yet
    for name, urgent in (("calm", False), ("urgent", True)):
        ev = Event("received", f"q-{name}", {"ticket_id": 6}, urgent=urgent,
                   reporters=[Reporter(None, PHONE, "hotline_12345")])  # fmt: skip
        emit(session, ev, now=evening)
    session.commit()
    receiver.state.fail("sms", "500", "500")
    first = deliver(sessions, evening)
    assert (first.claimed, first.retried, first.postponed) == (2, 2, 0)  # both failed once, retry in 10 s
    night = evening + timedelta(seconds=10)  # 22:00:05: quiet
    st = deliver(sessions, night)
    assert (st.postponed, st.claimed, st.delivered) == (1, 1, 1)  # the urgent one goes out, the calm one waits
    sent = receiver.state.of("sms")
    assert len(sent) == 1
    calm = session.scalar(select(OutboxMessage).where(OutboxMessage.key.like("received:q-calm:%")))
    assert calm is not None and calm.status == "queued" and calm.attempts == 1  # not counted as an attempt
    assert calm.next_attempt_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 07:00 Beijing
    assert deliver(sessions, datetime(2026, 12, 1, 22, 59, 59, tzinfo=UTC)).claimed == 0
    assert len(session.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id == calm.id)).all()) == 1
    morning = deliver(sessions, datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
    assert (morning.postponed, morning.delivered) == (0, 1)
    assert len(receiver.state.of("sms")) == 2

    # a user's own quiet hours (20:00–08:00) hold a message the config's would let through at 21:00
    user, _ = area.make_user("grid_worker", phone="13900000019")
    session.add(NotifyPreference(user_id=user.id, muted=[], quiet_start=time(20, 0), quiet_end=time(8, 0)))
    nine = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 21:00 Beijing
    emit(session, Event("received", "q-pref", {"ticket_id": 7}, reporters=[Reporter(None, PHONE, "hotline_12345")]),
         now=nine)  # fmt: skip
    msg = session.scalar(select(OutboxMessage).where(OutboxMessage.key.like("received:q-pref:%")))
    assert msg is not None
    msg.user_id = user.id
    session.commit()
    assert deliver(sessions, nine).postponed == 1
    session.refresh(msg)
    assert msg.next_attempt_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC) and msg.attempts == 0  # 08:00 Beijing
    assert len(receiver.state.of("sms")) == 2


def test_a_muted_channel_and_an_opted_out_reporter_get_nothing(
    client: TestClient, session: Session, area: Area, channels: object,
) -> None:  # fmt: skip
    police = area.departments["police"].id
    unit_user, unit = area.make_user("department", organization_id=police, phone="13700000004")
    r = client.put("/v1/me/notification-preferences", json={"muted": ["dispatched:sms"]}, headers=unit)
    assert r.status_code == 200, r.text
    t = report(client, area.dispatcher, channel="hotline_12345", reporter_name="李先生", reporter_phone=PHONE)
    r = client.post("/v1/notifications/opt-out", json={"ticket_id": t["id"], "token": t["token"]})
    assert r.status_code == 200 and r.json()["cancelled"] == 1  # the 受理 receipt, still queued
    ok(client, area.dispatcher, t["id"], "accept")
    ok(client, area.dispatcher, t["id"], "dispatch", payload={"unit_id": police})
    ok(client, unit, t["id"], "claim")
    ok(client, unit, t["id"], "resolve", note="已处理")
    assert _messages(session, t["id"]) == [("received", "sms", PHONE), ("dispatched", "inbox", None)]
    bad = client.post("/v1/notifications/opt-out", json={"ticket_id": t["id"], "token": "not-the-token"})
    assert bad.status_code == 404


def test_the_nightly_log_goes_to_the_compound_group_robot(
    session: Session, sessions: sessionmaker[Session], area: Area, channels: object, receiver: Receiver,
) -> None:  # fmt: skip
    compound = session.scalar(select(Compound).where(Compound.code == area.compound))
    assert compound is not None
    compound.group_robot_url, compound.group_robot_kind = f"{receiver.url}/cgi-bin/webhook/send?key=test-wecom", "wecom"
    session.commit()
    entry = worklog.empty_log(datetime(2026, 11, 30).date(), "compound", area.compound)
    assert worklog.hand_to_outbox(session, entry) is True
    assert worklog.hand_to_outbox(session, entry) is False  # a re-run of the night adds nothing
    session.commit()
    assert deliver(sessions).delivered == 1
    [got] = receiver.state.of("wecom")
    assert "民情工作日志 2026-11-30" in got["text"]


def test_a_report_goes_to_the_street_robots_once(
    session: Session, sessions: sessionmaker[Session], area: Area, channels: object, receiver: Receiver,
) -> None:  # fmt: skip
    """The 通报 (evaluation report) ready: the 街道's configured robots get its link; a re-run adds nothing."""
    street = area.community[:9]
    assert area_events.report_ready(session, street, "测试街道", "monthly", "2026-11") > 0
    assert area_events.report_ready(session, street, "测试街道", "monthly", "2026-11") == 0
    session.commit()
    robots = session.scalars(
        select(OutboxMessage.channel).where(OutboxMessage.event == "report_ready", OutboxMessage.status == "queued")
    ).all()
    assert sorted(robots) == ["dingtalk", "feishu", "wecom"]
    assert deliver(sessions).delivered == 3
    [got] = receiver.state.of("wecom")
    assert "测试街道 2026-11 月度通报" in got["text"] and f"/v1/reports/monthly/file?street={street}" in got["text"]
