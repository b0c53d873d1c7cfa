"""HTTP single byte ranges (RFC 9110 §14): what a browser's ``<video>`` sends to seek.

A syntactically invalid header, or several ranges, is ignored and the whole body served (the RFC
allows that); a valid range that starts past the end is the client's error (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import AppError

_SINGLE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiableError(AppError):
    status_code = 416
    code = "RANGE_NOT_SATISFIABLE"

    def __init__(self, header: str, size: int) -> None:
        super().__init__(
            f"range {header.strip()!r} is outside the {size} bytes of this artifact",
            details={"range": header.strip(), "size": size},
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
        )


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, or None for the whole body; raises ``RangeNotSatisfiableError``."""
    if header is None:
        return None
    match = _SINGLE.match(header)
    if match is None:
        return None  # other units, several ranges, or garbage: serve it all
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(header, size)
        return ByteRange(start=max(size - suffix, 0), end=size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid syntax per the RFC: ignored, not refused
    if start >= size:
        raise RangeNotSatisfiableError(header, size)
    return ByteRange(start=start, end=min(end, size - 1))


def range_applies(if_range: str | None, etag: str) -> bool:
    """``If-Range`` names the version the client holds; another version gets the whole body.

    Only entity tags are compared: a date in ``If-Range`` is weaker than our tags, so it counts
    as a mismatch (a full body is always a correct answer).
    """
    return if_range is None or if_range.strip() == etag
