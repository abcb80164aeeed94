"""Structured logging: one JSON object per line, carrying the current request id."""

import contextvars
import json
import logging
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    _second, _stamp = -1, ""  # the last second formatted (most lines share it)

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self._time(int(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if request_id.get():
            line["request_id"] = request_id.get()
        line.update({key: value for key, value in vars(record).items() if key not in STANDARD_ATTRS and _plain(value)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)

    def _time(self, second: int) -> str:
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second))
        return self._stamp


def _plain(value) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))
