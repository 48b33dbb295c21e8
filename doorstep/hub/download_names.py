"""Names for downloaded files: by camera and time, or by case number, never by id.

A saved clip called ``Front door-20261123-142501.mp4`` says what it is; ``95751428-….mp4``
does not. The header carries two names (RFC 6266): ``filename`` an ASCII-safe slug every
client understands, and ``filename*`` (RFC 5987, UTF-8) the full name for those that read
it. Times are in the downloading user's own time zone (``users.timezone``), the time their
pages show.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_NOT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NOT_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')  # separators, controls, quotes
MAX_STEM = 80


def _in_zone(moment: datetime, zone: str | None) -> datetime:
    try:
        return moment.astimezone(ZoneInfo(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(ZoneInfo("UTC"))


def full_name(stem: str, suffix: str) -> str:
    """The name as people typed it, less what no file system takes."""
    clean = _NOT_IN_NAMES.sub("-", stem).strip(" .-")[:MAX_STEM]
    return f"{clean or 'download'}{suffix}"


def ascii_name(stem: str, suffix: str) -> str:
    """ASCII letters, digits, dots, dashes: accents dropped, everything else a dash."""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    clean = _NOT_SAFE.sub("-", plain).strip(".-")[:MAX_STEM]
    return f"{clean or 'download'}{suffix}"


def content_disposition(disposition: str, stem: str, suffix: str) -> str:
    """``attachment; filename="slug.mp4"; filename*=UTF-8''full%20name.mp4``."""
    return (
        f'{disposition}; filename="{ascii_name(stem, suffix)}"; '
        f"filename*=UTF-8''{quote(full_name(stem, suffix), safe='')}"
    )


def clip_stem(camera_name: str, start: datetime, zone: str | None) -> str:
    """``<camera>-<YYYYmmdd-HHMMSS>``, the event's start in the user's zone."""
    return f"{camera_name}-{_in_zone(start, zone):%Y%m%d-%H%M%S}"


def evidence_stem(case_number: str, exported: datetime, zone: str | None) -> str:
    """``evidence-<case number>-<YYYYmmdd>``, the day of the export in the user's zone."""
    return f"evidence-{case_number}-{_in_zone(exported, zone):%Y%m%d}"
