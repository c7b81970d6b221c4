"""L4: database errors and access logs carry no personal data; batch conflicts don't echo stored values."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.logs import RedactAccessLog
from gis.db import engine_for
from tests import conftest


def test_database_errors_do_not_carry_bound_parameters() -> None:
    engine = engine_for(conftest.test_database_url())
    assert engine.hide_parameters is True
    try:
        with engine.connect() as conn:
            conn.execute(text("select :phone::int"), {"phone": "13812345678"})
    except DBAPIError as exc:
        assert "13812345678" not in str(exc)
    else:
        raise AssertionError("the cast should have failed")


def test_access_log_drops_query_strings_and_names() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/locate?lon=117.05&lat=36.67", "1.1", 200),
        None,
    )
    RedactAccessLog().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/locate HTTP/1.1" 200'
    record.args = ("127.0.0.1:5000", "GET", "/v1/avatars/%E5%BC%A0%E4%B8%89.svg", "1.1", 200)
    RedactAccessLog().filter(record)
    assert "E5%BC" not in record.getMessage() and "/v1/avatars/…" in record.getMessage()
