"""Opens the clip store the settings name: a local folder, or an S3-compatible bucket.

The interface and shared helpers are in :mod:`doorstep.hub.storage_base`; each
implementation has a module of its own, so adding a store adds a file and no cycle.
"""

from __future__ import annotations

from doorstep.config import Settings
from doorstep.hub.storage_base import BlobStorage
from doorstep.hub.storage_local import LocalBlobStorage


def open_storage(settings: Settings) -> BlobStorage:
    """The store the settings name: a local folder, or an S3-compatible bucket."""
    if not settings.storage_url:
        return LocalBlobStorage(settings.data_dir / "clips")
    from doorstep.hub.storage_s3 import S3BlobStorage  # boto3 is needed only for S3

    return S3BlobStorage.from_settings(settings)
