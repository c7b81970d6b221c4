"""The body of `POST /v1/patrols/{id}/fixes` read straight into columns (W9's hot path).

orjson parses it, and the common shape (RFC 3339 times, numbers, known CRS names) is checked in bulk; anything
else — bad input, or a shape only pydantic's lax mode accepts ("116.3" as a string, other time formats) — is
read by the `FixBatch` model exactly as FastAPI would, so bad input gets the same 422 body as every other route
and odd-but-valid input is accepted as before. The fast path accepts nothing the model refuses."""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.message import Message
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.schemas.common import assume_beijing
from api.schemas.patrols import CRS, FixBatch
from gis.patrol.ingest import PLAIN_CRS, FixColumns, columns_of

# one RFC 3339 timestamp per line (seconds, optional fraction, optional zone): every one of these is a valid
# pydantic datetime, and datetime.fromisoformat reads it to the same instant
_TIMES = re.compile(r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?\n)*")
_KNOWN_CRS = frozenset(CRS.__args__)  # type: ignore[attr-defined]


def read_batch(raw: bytes, content_type: str | None, max_fixes: int = 1000) -> tuple[str, FixColumns]:
    """(batch_key, columns) of a request body, or RequestValidationError (422) as FastAPI gives it."""
    fast = _fast(raw, content_type, max_fixes)
    if fast is not None:
        return fast
    model = _model(raw, content_type)
    return model.batch_key, columns_of(model.fixes)


def _fast(raw: bytes, content_type: str | None, max_fixes: int) -> tuple[str, FixColumns] | None:
    if content_type is None or not content_type.startswith("application/json") or not raw:
        return None
    try:
        body = orjson.loads(raw)
        key, fixes = body["batch_key"], body["fixes"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if type(key) is not str or not 1 <= len(key) <= 100 or type(fixes) is not list or len(fixes) > max_fixes:
        return None
    try:
        if any(type(f) is not dict for f in fixes):  # other keys are ignored, as the model does
            return None
        ts = [f["t"] for f in fixes]
        lon = [f["lon"] for f in fixes]
        lat = [f["lat"] for f in fixes]
    except KeyError:
        return None
    acc = [f.get("accuracy_m") for f in fixes]
    spd = [f.get("speed_mps") for f in fixes]
    hdg = [f.get("heading_deg") for f in fixes]
    crs = [f.get("crs", "wgs84") for f in fixes]
    if not (_numbers(lon, -180, 180) and _numbers(lat, -90, 90) and _optional(acc, 0, None)
            and _optional(spd, 0, None) and _optional(hdg, 0, 360)):  # fmt: skip
        return None
    plain = all(c in PLAIN_CRS for c in crs)
    if not plain and not all(type(c) is str and c in _KNOWN_CRS for c in crs):
        return None
    if not all(type(t) is str for t in ts) or not _TIMES.fullmatch("\n".join(ts) + "\n" if ts else ""):
        return None
    try:
        parsed = [datetime.fromisoformat(t) for t in ts]
    except ValueError:  # a date that does not exist (2024-02-30): pydantic says so
        return None
    text = list(ts)
    for k, t in enumerate(parsed):
        if t.tzinfo is None:  # the API's one policy: Beijing time
            parsed[k] = assume_beijing(t)
            text[k] = ts[k] + "+08:00"
    cols = FixColumns(
        t=parsed, t_text=text, lon=[float(v) for v in lon], lat=[float(v) for v in lat],
        crs=None if plain else crs, accuracy_m=_floats(acc), speed_mps=_floats(spd), heading_deg=_floats(hdg),
    )  # fmt: skip
    return key, cols


def _numbers(values: list[Any], lo: float, hi: float) -> bool:
    return all(type(v) is float or type(v) is int for v in values) and (
        not values or (lo <= min(values) and max(values) <= hi)
    )


def _optional(values: list[Any], lo: float, hi: float | None) -> bool:
    present = [v for v in values if v is not None]
    if not all(type(v) is float or type(v) is int for v in present):
        return False
    return not present or (min(present) >= lo and (hi is None or max(present) <= hi))


def _floats(values: list[Any]) -> list[float | None]:
    return [None if v is None else float(v) for v in values]


def _model(raw: bytes, content_type: str | None) -> FixBatch:
    """What FastAPI does with a JSON body model (fastapi/routing.py): same errors, same locations."""
    body: Any = raw
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    if content_type:
        message = Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json")):
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as e:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body", e.pos), "msg": "JSON decode error", "input": {},
                      "ctx": {"error": e.msg}}], body=e.doc,
                ) from e  # fmt: skip
    try:
        return FixBatch.model_validate(body)
    except ValidationError as e:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in e.errors()]
        raise RequestValidationError(errors, body=body) from e
