"""Application logging: text or JSON lines on stderr, each carrying its request's id.

No line may carry a password, token, code or secret. konnect's own messages never include
them; authlib's debug messages print whole token responses, so its logger stays at info
whatever the level.
"""

from __future__ import annotations

import json
import logging
import sys

from konnect.observe import context

LEVELS = {
    "panic": logging.CRITICAL,
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}
FORMATS = ("text", "json")
#: Libraries whose debug messages print request or response contents.
TALKATIVE = ("authlib", "multipart", "python_multipart")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(request_suffix)s"


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = context.request_id.get()
        record.request_id = request_id
        record.request_suffix = f" request_id={request_id}" if request_id else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or None,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    logging.basicConfig(level=LEVELS.get(level, logging.INFO), handlers=[handler])
    for name in TALKATIVE:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))
