"""Access logs without personal data: query strings (a resident's position in /v1/locate, search terms) and
names in paths (/v1/avatars/<staff name>.svg) are dropped before a line is written."""

from __future__ import annotations

import logging
import re

_AVATAR = re.compile(r"^(/v1/avatars/)[^/?]+")


def redact_path(path: str) -> str:
    path = path.split("?", 1)[0]
    return _AVATAR.sub(r"\1…", path)


class RedactAccessLog(logging.Filter):
    """For uvicorn's access logger, whose args are (client, method, path, http_version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Idempotent: one filter on uvicorn's access logger."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
        logger.addFilter(RedactAccessLog())
