"""Clips in an S3-compatible bucket: stored whole, verified on the way out, deleted with events.

The bucket is served by moto's S3 server: a stand-in, because no S3-compatible server
(MinIO, Ceph, Garage) installs from this machine's package registries. The hub talks to
it as to any S3 endpoint: boto3 over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.errors import ConfigError
from doorstep.hub.context import build_hub
from doorstep.hub.storage_local import LocalBlobStorage
from doorstep.hub.storage_s3 import trim_cache
from tests.hub.conftest import Api, bearer, sha256_of

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "doorstep-test",
    "AWS_SECRET_ACCESS_KEY": "doorstep-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    name = f"doorstep-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture
def s3_settings(tmp_path: Path, bucket: tuple[Any, str], s3_endpoint: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        storage_url=f"s3://{bucket[1]}/clips",
        s3_endpoint_url=s3_endpoint,
        max_clip_bytes=10 * 1024 * 1024,
    )


@pytest.fixture
def s3_api(s3_settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(s3_settings)) as client:
        yield Api(client)


def objects(bucket: tuple[Any, str]) -> dict[str, bytes]:
    client, name = bucket
    listing = client.list_objects_v2(Bucket=name).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=name, Key=item["Key"])["Body"].read()
        for item in listing
    }


def cache_dir(settings: Settings) -> Path:
    return settings.data_dir / "clip-cache"


def owner_with_event(api: Api) -> tuple[str, str, str]:
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    return token, camera["api_key"], api.event(camera["api_key"])["id"]


def test_clip_is_stored_in_the_bucket_and_served_back(
    s3_api: Api, s3_settings: Settings, bucket: tuple[Any, str], media_dir: Path
) -> None:
    clip = (media_dir / "dvrscan" / "traffic_camera.mp4").read_bytes()
    token, key, event_id = owner_with_event(s3_api)
    stored = s3_api.upload(key, event_id, clip)
    assert stored.status_code == 201, stored.text
    assert objects(bucket) == {f"clips/{sha256_of(clip)}": clip}

    # Served from the bucket, not only from the copy the upload left in the cache.
    for leftover in cache_dir(s3_settings).rglob("*"):
        if leftover.is_file():
            leftover.unlink()
    whole = s3_api.client.get(f"/api/v1/events/{event_id}/clip", headers=bearer(token))
    assert whole.status_code == 200 and whole.content == clip
    part = s3_api.client.get(
        f"/api/v1/events/{event_id}/clip", headers={**bearer(token), "Range": "bytes=10-19"}
    )
    assert part.status_code == 206 and part.content == clip[10:20]
    # A repeated upload (an agent retrying) is recognised, not stored twice.
    again = s3_api.upload(key, event_id, clip)
    assert again.status_code == 200 and again.json()["created"] is False
    assert len(objects(bucket)) == 1


def test_a_bad_upload_leaves_nothing_in_the_bucket(
    s3_api: Api, s3_settings: Settings, bucket: tuple[Any, str]
) -> None:
    _, key, event_id = owner_with_event(s3_api)
    data = b"clip bytes" * 1000
    truncated = s3_api.upload(key, event_id, data[:5000], sha=sha256_of(data))
    assert truncated.status_code == 422, truncated.text
    assert objects(bucket) == {}
    assert not any(cache_dir(s3_settings).rglob("*.part"))


def test_an_object_altered_in_the_bucket_is_not_served(
    s3_api: Api, s3_settings: Settings, bucket: tuple[Any, str]
) -> None:
    token, key, event_id = owner_with_event(s3_api)
    data = b"evidence" * 1000
    assert s3_api.upload(key, event_id, data).status_code == 201
    client, name = bucket
    client.put_object(Bucket=name, Key=f"clips/{sha256_of(data)}", Body=b"tampered" * 1000)
    for leftover in cache_dir(s3_settings).rglob("*"):
        if leftover.is_file():
            leftover.unlink()
    reply = s3_api.client.get(f"/api/v1/events/{event_id}/clip", headers=bearer(token))
    assert reply.status_code == 503
    assert "SHA-256" in reply.json()["detail"]
    assert not [p for p in cache_dir(s3_settings).rglob("*") if p.is_file()]


def test_deleting_a_camera_deletes_its_objects(s3_api: Api, bucket: tuple[Any, str]) -> None:
    token = s3_api.signup("ann@example.org")
    camera = s3_api.camera(token)
    event_id = s3_api.event(camera["api_key"])["id"]
    assert s3_api.upload(camera["api_key"], event_id, b"clip" * 500).status_code == 201
    assert len(objects(bucket)) == 1
    reply = s3_api.client.delete(f"/api/v1/cameras/{camera['id']}", headers=bearer(token))
    assert reply.status_code == 200
    assert objects(bucket) == {}


def test_a_bucket_that_cannot_be_used_stops_the_hub_at_start(
    tmp_path: Path, bucket: tuple[Any, str], s3_endpoint: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", storage_url="s3://no-such-bucket", s3_endpoint_url=s3_endpoint
    )
    with pytest.raises(ConfigError, match="no-such-bucket"):
        build_hub(settings)
    with pytest.raises(ConfigError, match="s3://bucket"):
        build_hub(Settings(data_dir=tmp_path / "data", storage_url="ftp://elsewhere"))


def test_cache_keeps_the_most_recently_used(tmp_path: Path) -> None:
    cache = LocalBlobStorage(tmp_path / "cache")
    paths = []
    for n in range(5):
        data = bytes([n]) * 1000
        temp = cache.tmp / f"{n}.part"
        temp.write_bytes(data)
        paths.append(cache.adopt(temp, sha256_of(data)))
        os.utime(paths[-1], (1000 + n, 1000 + n))
    os.utime(paths[0], (2000, 2000))  # the oldest was just read again
    assert trim_cache(cache, limit=2500) == 3
    assert [p.is_file() for p in paths] == [True, False, False, False, True]
