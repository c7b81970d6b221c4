"""Ticket photos: sniffed type (JPEG / PNG / WebP), size and pixel limits, EXIF GPS read and then
stripped, thumbnails, content-addressed files under settings.media_dir (`ab/abcdef….jpg`).

The stored file is a re-encoding without any metadata, so a resident's phone model, time and home
location never leave the server; the GPS position is kept only as the attachment's exif_lon/lat.
Files are written before the transaction commits; an aborted upload leaves an unreferenced blob that
a later upload of the same bytes reuses (content addressing makes the write idempotent).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.models import User
from gis.tickets import events
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


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # atomic: readers never see half a file


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
) -> Attachment:
    """Check, strip and store an uploaded photo; returns its attachment row."""
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
    sha = hashlib.sha256(clean).hexdigest()
    att = Attachment(
        ticket_id=ticket_id,
        sha256=sha,
        content_type=content_type,
        size_bytes=len(clean),
        width=width,
        height=height,
        exif_lon=lonlat[0] if lonlat else None,
        exif_lat=lonlat[1] if lonlat else None,
        filename=(filename or "")[:200] or None,
        uploaded_by_id=user.id if user else None,
    )
    _write_once(path_for(media_dir, att), clean)
    _write_once(thumb_for(media_dir, att), thumb)
    session.add(att)
    session.flush()
    if ticket_id is not None:
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            events.record(session, ticket, "photo_added", user=user, payload={"attachment_id": att.id})
    return att

