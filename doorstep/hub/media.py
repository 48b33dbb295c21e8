"""Replies that are not JSON, one class per media type.

Each class carries its media type, so FastAPI names the real type in the OpenAPI
document (a route declares ``response_class=CsvResponse``) and the reply sends it.
"""

from __future__ import annotations

from fastapi.responses import FileResponse, PlainTextResponse


class PemResponse(PlainTextResponse):
    """A PEM-encoded key."""

    media_type = "application/x-pem-file"


class CsvResponse(PlainTextResponse):
    """A table as CSV (RFC 4180)."""

    media_type = "text/csv"


class NoteResponse(PlainTextResponse):
    """A signed note (C2SP signed-note): plain UTF-8 text."""

    media_type = "text/plain"


class Mp4File(FileResponse):
    """A stored clip."""

    media_type = "video/mp4"


class JpegFile(FileResponse):
    """A stored snapshot."""

    media_type = "image/jpeg"


class ZipFile(FileResponse):
    """An evidence bundle."""

    media_type = "application/zip"


BINARY_TYPES = frozenset({Mp4File.media_type, JpegFile.media_type, ZipFile.media_type})
"""Media types whose body the OpenAPI document describes as binary."""
