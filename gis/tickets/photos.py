"""Ticket photos: sniffed type (JPEG / PNG / WebP), size and pixel limits, EXIF GPS read and then
stripped, thumbnails, content-addressed files under settings.media_dir (`ab/abcdef….jpg`).

The stored file is a re-encoding without any metadata, so a resident's phone model, time and home
location never leave the server; the GPS position is kept only as the attachment's exif_lon/lat.
Files are written before the transaction commits and removed again if it rolls back (only those this
upload created: content addressing means a file may already serve another row). Uploads never attached to
a ticket are deleted after a day by `tasks.sweep_uploads`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import User
from gis.tickets import events, idempotency
from gis.tickets.config import load_config
from gis.tickets.models import Attachment, Ticket

FORMATS = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"), "image/webp": ("WEBP", "webp")}
GPS_IFD = 0x8825


class PhotoTooLarge(InvalidInput):
    code = "payload_too_large"


class UnsupportedMedia(InvalidInput):
    code = "unsupported_media_type"


def sniff(data: bytes) -> str | None:
    """Content type from the leading bytes (the client's Content-Type is not trusted)."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _degrees(value: Any) -> float:
    d, m, s = (float(x) for x in value)
    return d + m / 60 + s / 3600


def exif_lonlat(img: Image.Image) -> tuple[float, float] | None:
    """WGS84 lon/lat from the EXIF GPS block, if present and sane."""
    try:
        gps = img.getexif().get_ifd(GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None
        lat = _degrees(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        lon = _degrees(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
        return None
    return lon, lat


_NEW_FILES = "gridgov.new_files"  # session.info key: files written in the current transaction


def write_once(session: Session, path: Path, data: bytes) -> None:
    """Write a content-addressed file (atomically, once); removed again if the transaction rolls back."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # atomic: readers never see half a file
    if _NEW_FILES not in session.info:
        session.info[_NEW_FILES] = []
        event.listen(session, "after_commit", _forget_files)
        event.listen(session, "after_rollback", _remove_files)
    session.info[_NEW_FILES].append(path)


def _forget_files(session: Session) -> None:
    session.info.get(_NEW_FILES, []).clear()


def _remove_files(session: Session) -> None:
    """The transaction that wrote these files rolled back: no row points to them."""
    files = session.info.get(_NEW_FILES, [])
    for path in files:
        path.unlink(missing_ok=True)
    files.clear()


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img = img.convert("RGB") if img.mode not in ("RGB", "L") else img
        img.save(buf, "JPEG", quality=88, optimize=True)
    elif fmt == "WEBP":
        img.save(buf, "WEBP", quality=85)
    else:
        img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def path_for(media_dir: Path, att: Attachment) -> Path:
    return Path(media_dir) / att.sha256[:2] / f"{att.sha256}.{FORMATS[att.content_type][1]}"


def thumb_for(media_dir: Path, att: Attachment) -> Path:
    return Path(media_dir) / "thumbs" / att.sha256[:2] / f"{att.sha256}.jpg"


def stored_file(path: Path, att: Attachment) -> Path:
    """A photo's file for serving; NotFound when the row outlived it (a restored database, a cleaned disk)."""
    if not path.is_file():
        raise NotFound(f"照片文件已不存在 / the file of photo {att.id} is gone from the media store")
    return path


def upload_token(att: Attachment) -> str:
    """What proves an anonymous uploader's claim on a photo: its id and the hash of the stored bytes (which only
    the uploader is told, and nobody can see before the photo is on a ticket)."""
    return f"{att.id}.{att.sha256}"


def claim(session: Session, photo_ids: list[int], tokens: list[str], *, user: User | None) -> list[Attachment]:
    """The photos the caller may attach: their own uploads (photo_ids, logged in), or uploads whose token they
    hold (photo_tokens, for anonymous uploads). Locked, so two reports cannot both take one photo."""
    wanted: dict[int, str | None] = dict.fromkeys(photo_ids)
    for token in tokens:
        att_id, _, digest = token.partition(".")
        if not att_id.isdigit() or not digest:
            raise InvalidInput(f"photo token {token!r} is not an upload_token of POST /v1/attachments")
        wanted[int(att_id)] = digest
    if not wanted:
        return []
    if photo_ids and user is None:
        raise Forbidden("匿名上报请用 photo_tokens / anonymous reports attach photos by their upload_token")
    photos = list(
        session.scalars(select(Attachment).where(Attachment.id.in_(wanted)).order_by(Attachment.id).with_for_update())
    )
    absent = sorted(set(wanted) - {p.id for p in photos})
    if absent:
        raise InvalidInput(f"照片不存在 / no uploaded photo with id {absent}")
    for p in photos:
        proof = wanted[p.id]
        if proof is not None:
            mine = hmac.compare_digest(proof.encode(), p.sha256.encode())
        else:
            mine = user is not None and p.uploaded_by_id == user.id
        if not mine:
            raise Forbidden(f"photo {p.id} was uploaded by someone else")
        if p.ticket_id is not None:
            raise InvalidInput(f"photo {p.id} belongs to another ticket")
    return photos


def missing(attachment_id: int) -> NotFound:
    return NotFound(f"照片不存在 / no photo {attachment_id}")


def store_photo(
    session: Session,
    media_dir: Path,
    data: bytes,
    *,
    filename: str | None = None,
    user: User | None = None,
    ticket_id: int | None = None,
    client_key: str | None = None,
) -> Attachment:
    """Check, strip and store an uploaded photo; returns its attachment row.

    With a client key (Idempotency-Key), a retried upload of the same bytes returns the first upload's row."""
    scope = f"user:{user.id}" if user is not None else "upload:anonymous"
    if client_key is not None:
        body = {"sha256": hashlib.sha256(data).hexdigest(), "ticket_id": ticket_id}
        stored = idempotency.claim_key(session, scope, client_key, body)
        earlier = session.get(Attachment, stored["attachment_id"]) if stored else None
        if earlier is not None:
            return earlier
    att = _store(session, media_dir, data, filename=filename, user=user, ticket_id=ticket_id)
    if client_key is not None:
        idempotency.remember(session, scope, client_key, {"attachment_id": att.id})
    return att


@dataclass(frozen=True)
class CleanImage:
    """An uploaded image after the checks: re-encoded without metadata, its thumbnail and EXIF position."""

    content_type: str
    data: bytes
    thumb: bytes
    width: int
    height: int
    lonlat: tuple[float, float] | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return FORMATS[self.content_type][1]


def clean_image(data: bytes) -> CleanImage:
    """The one image check of the product (ticket photos, 责任公示牌 portraits): size, sniffed type (JPEG, PNG,
    WebP), pixel count, readable; EXIF orientation applied, then every metadata block dropped."""
    rules = load_config().photos
    if len(data) > rules.max_bytes:
        raise PhotoTooLarge(
            f"照片过大 / photo exceeds {rules.max_bytes // 1_000_000} MB; resize it before uploading",
            detail={"max_bytes": rules.max_bytes},
        )
    content_type = sniff(data)
    if content_type is None or content_type not in rules.types:
        raise UnsupportedMedia("只接受 JPEG、PNG、WebP 照片 / only JPEG, PNG and WebP images are accepted")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > rules.max_pixels:
                raise PhotoTooLarge(f"图片像素过多 / image has more than {rules.max_pixels} pixels")
            probe.load()
            lonlat = exif_lonlat(probe)
            img = ImageOps.exif_transpose(probe)  # keep the orientation the EXIF asked for, then drop EXIF
            width, height = img.size
            clean = _encode(img, FORMATS[content_type][0])
            img.thumbnail((rules.thumb_px, rules.thumb_px))
            thumb = _encode(img, "JPEG")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnsupportedMedia(f"无法读取图片 / the file is not a readable image: {exc}") from exc
    return CleanImage(content_type, clean, thumb, width, height, lonlat)


def _store(
    session: Session, media_dir: Path, data: bytes, *, filename: str | None, user: User | None, ticket_id: int | None
) -> Attachment:
    image = clean_image(data)
    att = Attachment(
        ticket_id=ticket_id,
        sha256=image.sha256,
        content_type=image.content_type,
        size_bytes=len(image.data),
        width=image.width,
        height=image.height,
        exif_lon=image.lonlat[0] if image.lonlat else None,
        exif_lat=image.lonlat[1] if image.lonlat else None,
        filename=(filename or "")[:200] or None,
        uploaded_by_id=user.id if user else None,
    )
    write_once(session, path_for(media_dir, att), image.data)
    write_once(session, thumb_for(media_dir, att), image.thumb)
    session.add(att)
    session.flush()
    if ticket_id is not None:
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            events.record(session, ticket, "photo_added", user=user, payload={"attachment_id": att.id})
    return att
