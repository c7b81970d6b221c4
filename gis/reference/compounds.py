"""Compound details (小区: 封闭/开放, households, property company, 党支部, 微信群, 业委会/物管会) and the
责任公示牌 (four duties: 小区书记, 包联社区工作者, 物业管家, 社区民警, each with name, phone and photo).

Boundaries are not changed here (gis/plans does that). Every change is audited, so the history of a compound's
contacts is the audit trail filtered to that compound (`contacts_history`). Portraits go through the same image
checks as ticket photos (`gis.tickets.photos.clean_image`) and are stored content-addressed under
`<media_dir>/contacts/`; they are public only while a board shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import NotFound
from gis.models import Compound, User
from gis.reference import audit, checks
from gis.reference.models import ReferenceChange
from gis.reference.organizations import organization_by_code
from gis.tickets import photos

KINDS = {"closed": "封闭式", "open": "开放式"}
DUTIES = {
    "secretary": "小区书记",
    "liaison_worker": "包联社区工作者",
    "property_steward": "物业管家",
    "police": "社区民警",
}
COMMITTEE_KINDS = {"owners_committee": "业主委员会", "management_committee": "物业管理委员会"}
CONTACT_PHOTO_PREFIX = "/v1/contact-photos/"
DETAIL_FIELDS = (
    "name", "kind", "address", "households", "built_year", "property_company", "party_branch", "wechat_group",
    "committee",
)  # fmt: skip


def get_compound(session: Session, code: str, *, actor: User) -> Compound:
    """A compound `actor` may edit (managers: in their communities)."""
    compound = checks.compound(session, code)
    checks.ensure_community(session, actor, compound.community.code, "小区信息 / compound details")
    return compound


def _committee(session: Session, value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    kind = value.get("kind")
    if kind not in COMMITTEE_KINDS:
        raise checks.bad(
            "committee.kind",
            f"请选择业委会 owners_committee 或物管会 management_committee，不是 {kind!r} / unknown kind",
        )
    members = []
    for i, m in enumerate(value.get("members") or []):
        members.append(
            {
                "title": checks.text(m.get("title"), f"committee.members[{i}].title", max_len=20, required=True),
                "name": checks.text(m.get("name"), f"committee.members[{i}].name", max_len=40, required=True),
                "phone": checks.phone(m.get("phone"), f"committee.members[{i}].phone"),
            }
        )
    return {"kind": kind, "members": members}


def update_compound(session: Session, code: str, changes: dict[str, Any], *, actor: User) -> Compound:
    """Change a compound's details (`changes`: any of DETAIL_FIELDS; property_company by organization code)."""
    unknown = sorted(set(changes) - set(DETAIL_FIELDS))
    if unknown:
        raise checks.bad(unknown[0], f"不能修改的字段 {unknown} / fields that cannot be changed here: {unknown}")
    compound = get_compound(session, code, actor=actor)
    before = audit.snapshot(session, "compounds", compound)
    if "name" in changes:
        compound.name = checks.text(changes["name"], "name", max_len=80, required=True) or compound.name
    if "kind" in changes:
        if changes["kind"] not in KINDS:
            raise checks.bad(
                "kind",
                f"小区类型须为封闭式 closed 或开放式 open，不是 {changes['kind']!r} / kind must be closed or open",
            )
        compound.kind = changes["kind"]
    if "address" in changes:
        compound.address = checks.text(changes["address"], "address", max_len=200)
    if "households" in changes:
        compound.households = checks.count(changes["households"], "households") or 0
    if "built_year" in changes:
        compound.built_year = checks.count(changes["built_year"], "built_year", maximum=2100)
    if "property_company" in changes:
        org = organization_by_code(session, changes["property_company"], "property_company")
        if org is not None and org.kind != "property_company":
            raise checks.bad("property_company", f"{org.name} 不是物业公司 / {org.code!r} is not a property company")
        compound.property_company_id = org.id if org else None
    if "party_branch" in changes:
        compound.party_branch = checks.text(changes["party_branch"], "party_branch", max_len=120)
    if "wechat_group" in changes:
        compound.wechat_group = checks.text(changes["wechat_group"], "wechat_group", max_len=120)
    if "committee" in changes:
        compound.committee = _committee(session, changes["committee"])
    audit.record(
        session, actor, "compounds", compound, action="update", before=before, community_code=compound.community.code
    )
    return compound


def _contact(duty: str, name: str | None, phone: str | None, photo_url: str | None) -> dict[str, Any]:
    if duty not in DUTIES:
        raise checks.bad(
            "duty",
            f"未知的公示牌职责 {duty!r}，可选 {', '.join(DUTIES)} / unknown duty {duty!r}: one of {', '.join(DUTIES)}",
        )
    return {
        "duty": duty,
        "title": DUTIES[duty],
        "name": checks.text(name, f"{duty}.name", max_len=40, required=True),
        "phone": checks.phone(phone, f"{duty}.phone"),
        "photo_url": photo_url,
    }


def set_contact(
    session: Session,
    code: str,
    *,
    actor: User,
    duty: str,
    name: str | None,
    phone: str | None,
    photo_url: str | None = None,
    keep_photo: bool = True,
) -> Compound:
    """Put a person on one duty of the 责任公示牌 (blank name: take the duty off the board).

    The portrait stays when the same duty is re-saved (`keep_photo`), unless `photo_url` names another."""
    compound = get_compound(session, code, actor=actor)
    before = audit.snapshot(session, "compounds", compound)
    current = {c.get("duty"): c for c in compound.contacts or []}
    if name is None or not name.strip():
        if duty not in DUTIES:
            _contact(duty, "x", None, None)
        current.pop(duty, None)
    else:
        if (
            photo_url is not None
            and not photo_url.startswith(CONTACT_PHOTO_PREFIX)
            and not photo_url.startswith("/v1/avatars/")
        ):
            raise checks.bad("photo_url", "照片请通过上传接口提供 / upload the photo (POST …/contacts/{duty}/photo)")
        old = current.get(duty, {})
        photo = (
            photo_url
            if photo_url is not None
            else (old.get("photo_url") if keep_photo and old.get("name") == name.strip() else None)
        )
        current[duty] = _contact(duty, name, phone, photo)
    compound.contacts = [current[d] for d in DUTIES if d in current]
    audit.record(
        session, actor, "compounds", compound, action="update", before=before, community_code=compound.community.code
    )
    return compound


def contact_photo_path(media_dir: Path, name: str) -> Path:
    """The file of a portrait URL's last segment (`<sha256>.<ext>`), inside `<media_dir>/contacts/`."""
    sha, _, ext = name.partition(".")
    if len(sha) != 64 or not all(ch in "0123456789abcdef" for ch in sha) or ext not in ("jpg", "png", "webp"):
        raise NotFound(f"没有这张照片 / no contact photo {name!r}")
    return Path(media_dir) / "contacts" / sha[:2] / f"{sha}.{ext}"


def store_contact_photo(
    session: Session, media_dir: Path, code: str, duty: str, data: bytes, *, actor: User
) -> Compound:
    """Check and store a portrait (the ticket-photo checks), and show it on the board for `duty`."""
    compound = get_compound(session, code, actor=actor)
    person = next((c for c in compound.contacts or [] if c.get("duty") == duty), None)
    if person is None:
        raise checks.bad(
            "duty",
            f"公示牌上还没有{DUTIES.get(duty, duty)}，请先填写姓名 / no {duty!r} on the board: add the person first",
        )
    image = photos.clean_image(data)
    name = f"{image.sha256}.{image.extension}"
    photos.write_once(session, contact_photo_path(media_dir, name), image.data)
    return set_contact(
        session, code, actor=actor, duty=duty, name=person.get("name"), phone=person.get("phone"),
        photo_url=CONTACT_PHOTO_PREFIX + name,
    )  # fmt: skip


def published_photo(session: Session, media_dir: Path, name: str) -> Path:
    """A portrait's file, only while some compound's board shows it (an upload alone is not public)."""
    path = contact_photo_path(media_dir, name)
    url = CONTACT_PHOTO_PREFIX + name
    shown = session.scalar(select(Compound.id).where(Compound.contacts.contains([{"photo_url": url}])).limit(1))
    if shown is None or not path.is_file():
        raise NotFound(f"没有这张照片 / no contact photo {name!r}")
    return path


def contacts_history(session: Session, code: str, *, actor: User) -> list[dict[str, Any]]:
    """Every state the 责任公示牌 of a compound had through the audit trail, newest first."""
    compound = get_compound(session, code, actor=actor)
    rows = session.scalars(
        select(ReferenceChange)
        .where(ReferenceChange.table_name == "compounds", ReferenceChange.object_key == compound.code)
        .order_by(ReferenceChange.at.desc(), ReferenceChange.id.desc())
    )
    out = []
    for row in rows:
        before = (row.before or {}).get("contacts")
        after = (row.after or {}).get("contacts")
        if before != after:
            out.append({"change_id": row.id, "at": row.at, "username": row.username, "before": before, "after": after})
    return out
