"""Where images, heatmaps and a line's model files live: one interface, two homes.

- `LocalBlobs`: the data dir (the default; one PC needs no server), or any folder.
- `S3Blobs`: an S3-compatible bucket shared by a line of stations (`s3://bucket/prefix`).
  Endpoint and keys come from the environment or the AWS config files, as for every S3 tool
  (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `~/.aws/credentials`),
  never from the command line, where a process list would show them.

Keys are content-addressed (`images/ab/<sha256>.png`), the same on every store, so a row
written by one station names the same object for all of them, and writing a key twice is
harmless: that is what lets a spooled batch be forwarded again after an ambiguous failure.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from station.core.errors import ImageError, StationError
from station.core.fileutil import atomic_write

log = logging.getLogger("station.blobs")


class StoreUnavailable(StationError):
    """The store cannot be reached now (a server down, a network cut): try again later."""


class StoreRefused(StoreUnavailable):
    """The store answers but refuses, and will go on refusing until someone acts: a key without
    write rights, a full or locked bucket, a certificate this PC does not trust. Results are kept
    on this PC as in an outage, but the run raises an alarm and its exit says so."""


# Answers that no retry will change (S3's, MinIO's and SeaweedFS's names for them).
_REFUSED = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "AccountProblem",
            "QuotaExceeded", "XMinioStorageFull", "StorageFull", "InsufficientStorage", "507")


class BlobMissing(ImageError):
    """The key is not in the store (purged, never stored, or kept somewhere else)."""


class BlobStore(Protocol):
    url: str  # what runs record and messages show: a folder, or s3://bucket/prefix
    local_root: Path | None  # the folder on this PC's disk, for the disk guard; None for S3

    def put(self, key: str, data: bytes) -> int:
        """Store `data` under `key`; returns the bytes this call added (0: it was there)."""

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> int | None:
        """Remove `key`; returns its size, or None when it was not there."""

    def exists(self, key: str) -> bool: ...

    def locate(self, key: str) -> str:
        """A path or URL a person (or a script reading `station queue --json`) can open."""


class LocalBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.local_root: Path | None = root
        self.url = str(root)

    def _path(self, key: str) -> Path:
        path = self.root / key
        # A key is ours to write; a link planted in the folder must not lead a read or a delete
        # outside it (export once followed one and deleted files).
        try:
            path.resolve().relative_to(self.root.resolve())
        except ValueError:
            raise BlobMissing(f"{key} leads outside {self.root}") from None
        return path

    def put(self, key: str, data: bytes) -> int:
        path = self._path(key)
        if path.exists():
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
        return len(data)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"{key} is not in {self.root}") from None
        except OSError as exc:
            raise ImageError(f"{path}: {exc.strerror or exc}") from None

    def delete(self, key: str) -> int | None:
        path = self._path(key)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return None
        return size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def locate(self, key: str) -> str:
        return str(self.root / key)


# Errors that mean "the store is not there now", as opposed to "this request is wrong".
_DOWN = ("EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError",
         "ConnectionError", "ProxyConnectionError", "HTTPClientError")


class S3Blobs:
    def __init__(self, url: str, client: Any = None) -> None:
        parsed = urlparse(url)
        if not parsed.netloc:
            raise StationError(f"an S3 store is s3://bucket/prefix, not {url!r}")
        self.url = url.rstrip("/")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.local_root: Path | None = None
        # Made on first use: a command that never touches an image (label, queue, stats) does not
        # pay for boto3's import or a round trip to the store.
        self._made = client
        self._bucket_ok = False
        self._lock = threading.Lock()

    @property
    def _client(self) -> Any:
        with self._lock:
            if self._made is None:
                self._made = _client()
            return self._made

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str, fn: Any, ok: tuple[str, ...] = (), **kw: Any) -> Any:
        """`fn(Bucket=..., **kw)` with the store's errors sorted: BlobMissing, StoreUnavailable (try
        later), or StationError (wrong keys, a refused request); an error code in `ok` is success."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return fn(Bucket=self.bucket, **kw)
        except NoCredentialsError:
            raise StationError("the S3 store needs keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                               "(or ~/.aws/credentials)") from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ok:
                return None
            if code in ("404", "NoSuchKey", "NotFound"):
                raise BlobMissing(f"{key} is not in {self.url}") from None
            if code in _REFUSED and what == "write":
                raise StoreRefused(f"the image store {self.url} refused to {what} {key}: {code}") from None
            if code in ("503", "500", "SlowDown", "ServiceUnavailable", "InternalError"):
                raise StoreUnavailable(f"the image store {self.url} is unavailable: {code}") from None
            raise StationError(f"the image store {self.url} refused to {what} {key}: {code} "
                               f"{exc.response.get('Error', {}).get('Message', '')}".rstrip()) from None
        except BotoCoreError as exc:
            if type(exc).__name__ == "SSLError":  # an untrusted certificate stays untrusted
                raise StoreRefused(f"the image store {self.url} is not trusted: {str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}") from None
            if type(exc).__name__ in _DOWN or isinstance(exc, OSError):
                raise StoreUnavailable(f"the image store {self.url} is unreachable ({type(exc).__name__})") from None
            raise StationError(f"the image store {self.url}: {exc}") from None

    def ensure_bucket(self) -> None:
        """Create the bucket on first use: standing up a line is one command fewer."""
        # Ten stations starting at once on a new line all try; one wins, the rest see it made.
        # While one is being made, SeaweedFS answers another creator NoSuchBucket: look again.
        for attempt in range(6):
            try:
                self._call("open", self.bucket, self._client.head_bucket)
                return
            except BlobMissing:
                pass
            made = self._call("create", self.bucket, self._client.create_bucket,
                              ok=("BucketAlreadyOwnedByYou", "BucketAlreadyExists", "NoSuchBucket"))
            if made is not None:
                log.info("bucket %s created", self.bucket)
                return
            time.sleep(0.1 * (attempt + 1))
        raise StoreUnavailable(f"the image store {self.url} did not make bucket {self.bucket} in 6 tries")

    def put(self, key: str, data: bytes) -> int:
        if not self._bucket_ok:
            self.ensure_bucket()
            self._bucket_ok = True
        # No existence check first: a key is its content, so writing it again changes nothing,
        # and one round trip per file is what a line's throughput is made of.
        self._call("write", key, self._client.put_object, Key=self._key(key), Body=data)
        return len(data)

    def get(self, key: str) -> bytes:
        body = self._call("read", key, self._client.get_object, Key=self._key(key))["Body"]
        try:
            return body.read()
        except Exception as exc:  # noqa: BLE001 (a connection cut mid-body is the store going away)
            raise StoreUnavailable(f"the image store {self.url} went away while reading {key}: {type(exc).__name__}") from None

    def delete(self, key: str) -> int | None:
        try:
            size = int(self._call("stat", key, self._client.head_object, Key=self._key(key))["ContentLength"])
        except BlobMissing:
            return None
        self._call("delete", key, self._client.delete_object, Key=self._key(key))
        return size

    def exists(self, key: str) -> bool:
        try:
            self._call("stat", key, self._client.head_object, Key=self._key(key))
        except BlobMissing:
            return False
        return True

    def locate(self, key: str) -> str:
        return f"{self.url}/{key}"


def _client() -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StationError("this build has no S3 client (boto3); use a folder as the store") from None
    # Short timeouts and one retry: an unreachable store must be noticed in seconds, so the
    # station spools (station.record.spool) instead of holding the line.
    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"},
                    s3={"addressing_style": "path"}, max_pool_connections=16)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config,
                                          region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")


def open_blobs(url: str | None, data_root: Path) -> BlobStore:
    """`--store URL`: none (the data dir), a folder, or s3://bucket/prefix."""
    if not url:
        return LocalBlobs(data_root)
    if url.startswith("s3://"):
        # Nothing is asked of the server here: a station starts and judges while its store is
        # down (what the store cannot take is spooled); the bucket is made on the first write.
        return S3Blobs(url)
    if "://" in url and not url.startswith("file://"):
        raise StationError(f"unknown store {url!r}: use a folder or s3://bucket/prefix")
    return LocalBlobs(Path(urlparse(url).path if url.startswith("file://") else url).expanduser())


def read_url(url: str) -> bytes:
    """The bytes of one object named by its full URL, s3://bucket/key, as `locate` gives it (the
    endpoint and keys from the environment, as for `--store`)."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise StationError(f"{url!r} names no object: use s3://bucket/key")
    try:
        return S3Blobs(f"s3://{bucket}").get(key)
    except BlobMissing:
        raise StationError(f"image not found in the store: {url}") from None
