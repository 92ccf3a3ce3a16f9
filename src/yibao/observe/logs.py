"""Structured logs: one JSON object a line (json) or one readable line (text), every line masked (masking.py).

The request being answered is in a context variable (`REQUEST`): the HTTP middleware puts its request id there,
the gateway adds the infno, msgid and institution as it learns them, and every line logged meanwhile (in the
event loop or a worker thread) carries them. A line's own fields are given as `extra={...}`."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from yibao.observe.masking import mask_text, mask_value

#: the request being answered: request_id, and infno, msgid, fixmedins_code once known (a dict, so that what
#: the handler learns is seen by the middleware that logs the access line)
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("yibao_request", default=None)
FORMATS = ("json", "text")
#: attributes of every LogRecord: what is not among them came in `extra`
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}  # uvicorn's copy of the message with terminal colours


def note(**fields: Any) -> None:
    """Add fields to the current request's context (no-op outside a request)."""
    current = REQUEST.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v is not None})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The request's context, then the line's own extra fields, masked."""
    out = dict(REQUEST.get() or {})
    out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    return {k: mask_value(k, v) for k, v in out.items() if v is not None}


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "msg", request fields..., "exc"}: one object a line, UTF-8 text kept."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": mask_text(record.getMessage()),
            **fields_of(record)}
        if record.exc_info:
            line["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = mask_text(super().format(record))
        extra = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        return f"{text} {extra}" if extra else text


def choose(fmt: str | None) -> str:
    """The format asked for, else text on a terminal and json otherwise (a file, a collector's pipe)."""
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"--log-format: must be one of {', '.join(FORMATS)}, not {fmt!r}")
        return fmt
    return "text" if sys.stderr.isatty() else "json"


def log_config(fmt: str, access_log: bool = True, level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig for uvicorn to apply in every worker: our formatter on stderr for every
    logger, uvicorn's own access log off (the middleware's `yibao.access` lines name the infno too)."""
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"yibao": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "yibao", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {"uvicorn": {"handlers": [], "propagate": True},
                    "uvicorn.error": {"handlers": [], "propagate": True},
                    "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
                    "yibao.access": {"level": "INFO" if access_log else "WARNING"}},
    }


def configure(fmt: str, access_log: bool = True) -> None:
    """Apply `log_config` to this process (the commands' own lines before the server starts), unless its logging
    is set up already (a program embedding the command, a test runner): that is left alone, as basicConfig does."""
    import logging.config

    if not logging.getLogger().handlers:
        logging.config.dictConfig(log_config(fmt, access_log))
