"""The S3 driver (boto3): storage path ``/a/b`` is the object ``<prefix>/a/b``.

Directories are key prefixes (S3 has none of its own): a directory exists while an object
lies under it. ``list`` uses ListObjectsV2 with ``Delimiter="/"`` and ``StartAfter``, so
its work is proportional to the page asked for, not to the directory. Writers are
multipart uploads resumable from any process (:mod:`.s3_writer`). ``move`` is a managed
copy (multipart copy beyond 5 GiB) then a delete: not atomic, but ``dst`` always holds
either its old or its complete new content. With ``redirect``, ``redirect_url`` returns a
presigned URL (GET or HEAD). ClientError ``NoSuchKey``/``404``/``NoSuchUpload`` become
PathNotFound; every other boto error a StorageError.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import (
    FileInfo,
    InvalidOffset,
    InvalidPath,
    PathNotFound,
    StorageConfigError,
    StorageDriver,
    StorageError,
    is_reserved,
    join,
    validate_path,
)
from .s3_writer import MIB, MIN_PART, S3Writer, open_body

MAX_PART = 5 * 1024 * MIB
DEFAULT_CHUNKSIZE = 10 * MIB
_SESSION: boto3.session.Session | None = None
_SESSION_LOCK = threading.Lock()
_NOT_FOUND = {"NoSuchKey", "NotFound", "404", "NoSuchUpload"}
_PARAMS = frozenset(
    "bucket region endpoint_url prefix redirect chunksize accesskey secretkey".split()
)


class S3Driver(StorageDriver):
    """Store objects in ``bucket`` under ``prefix``; see the module docstring."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        prefix: str = "",
        redirect: bool = False,
        chunksize: int = DEFAULT_CHUNKSIZE,
        accesskey: str | None = None,
        secretkey: str | None = None,
    ):
        if not MIN_PART <= chunksize <= MAX_PART:
            raise StorageConfigError(
                f"chunksize must be between {MIN_PART} (5 MiB, the S3 minimum part size) "
                f"and {MAX_PART} bytes, got {chunksize}",
                "chunksize",
            )
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.redirect = redirect
        self.chunksize = chunksize
        s3_options = {"addressing_style": "path"} if endpoint_url else {}
        self.client = _session().client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=accesskey,
            aws_secret_access_key=secretkey,
            config=Config(signature_version="s3v4", retries={"mode": "standard"}, s3=s3_options),
        )
        self._transfer = TransferConfig(multipart_threshold=MAX_PART, multipart_chunksize=512 * MIB)

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> S3Driver:
        """Build a driver from string params; StorageConfigError names a bad parameter."""
        unknown = sorted(set(params) - _PARAMS)
        if unknown:
            raise StorageConfigError.unknown("s3", unknown, _PARAMS)
        text = {name: str(params[name]).strip() for name in _PARAMS if params.get(name)}
        if not text.get("bucket"):
            raise StorageConfigError("bucket is required for the s3 driver", "bucket")
        if ("accesskey" in text) != ("secretkey" in text):
            raise StorageConfigError(
                "accesskey and secretkey must be given together",
                "secretkey" if "accesskey" in text else "accesskey",
            )
        prefix = text.get("prefix", "").strip("/")
        if prefix and not _valid_prefix(prefix):
            raise StorageConfigError(
                f"prefix {prefix!r} must be /-separated [A-Za-z0-9._-]+", "prefix"
            )
        return cls(
            text["bucket"],
            region=text.get("region"),
            endpoint_url=text.get("endpoint_url"),
            prefix=prefix,
            redirect=_boolean(text.get("redirect", "false"), "redirect"),
            chunksize=_integer(text.get("chunksize", DEFAULT_CHUNKSIZE), "chunksize"),
            accesskey=text.get("accesskey"),
            secretkey=text.get("secretkey"),
        )

    def _get_content(self, path: str) -> bytes:
        with self._get(path)["Body"] as body:
            return body.read()

    def _put_content(self, path: str, content: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=content)

    def _create(self, path: str, content: bytes) -> bool:
        """A conditional write (``If-None-Match: *``, S3's conditional writes): S3 answers
        412 to every writer but the first."""
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(path), Body=content, IfNoneMatch="*"
            )
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def _reader(self, path: str, offset: int) -> BinaryIO:
        if offset == 0:
            return open_body(self._get(path)["Body"])
        try:
            return open_body(self._get(path, Range=f"bytes={offset}-")["Body"])
        except ClientError as exc:
            if _code(exc) != "InvalidRange":
                raise
        if offset == self._stat(path).size:
            return io.BytesIO()
        raise InvalidOffset(path, offset)

    def _writer(self, path: str, append: bool) -> S3Writer:
        key = self._key(path)
        head, _, name = key.rpartition("/")
        pending = f"{head}/.wharf-pending.{name}" if head else f".wharf-pending.{name}"
        return S3Writer(self.client, self.bucket, key, pending, self.chunksize, append)

    def _stat(self, path: str) -> FileInfo:
        if path != "/":
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(path))
                return FileInfo(path, head["ContentLength"], _utc(head["LastModified"]), False)
            except ClientError as exc:
                if _code(exc) not in _NOT_FOUND:
                    raise
        found = self._objects(self._dir(path), MaxKeys=1)
        if found:
            return FileInfo(path, 0, _utc(found[0]["LastModified"]), True)
        if path == "/":
            return FileInfo(path, 0, datetime.now(UTC), True)
        raise PathNotFound(path)

    def _list(self, path: str, start_after: str | None, limit: int | None) -> list[str]:
        prefix = self._dir(path)
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/"}
        if start_after is not None and self._key(start_after) > prefix:
            request["StartAfter"] = self._key(start_after)
        names: set[str] = set()
        last, seen, more = "", False, True
        while more and (limit is None or len(names) < limit):
            request["MaxKeys"] = 1000 if limit is None else min(1000, limit - len(names))
            page = self.client.list_objects_v2(**request)
            keys = [c["Key"] for c in page.get("Contents", [])]
            keys += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            seen = seen or bool(keys)
            last = max([last, *keys])
            names.update(_wanted(path, [k[len(prefix) :].rstrip("/") for k in keys], start_after))
            more = page.get("IsTruncated", False)
            request["ContinuationToken"] = page.get("NextContinuationToken")
        if more:
            skipped = self._skipped_dirs(prefix, last[len(prefix) :].rstrip("/"))
            names.update(_wanted(path, skipped, start_after))
        if not seen and path != "/" and not self._objects(prefix, MaxKeys=1):
            raise PathNotFound(path)
        children = sorted(join(path, n) for n in names)
        return children if limit is None else children[:limit]

    def _skipped_dirs(self, prefix: str, last: str) -> list[str]:
        """Return the directories S3 orders after ``last`` although their names sort before.

        S3 orders ``a/`` after ``a-b`` and ``a.b`` ('/' > '-', '.'); a directory ``m`` not
        yet listed can sort (by name) before a listed child only if ``last`` starts with
        ``m`` followed by '-' or '.', so those few prefixes are checked directly.
        """
        candidates = [last[:i] for i, ch in enumerate(last) if ch in "-." and i > 0]
        return [m for m in candidates if self._objects(f"{prefix}{m}/", MaxKeys=1)]

    def _move(self, src: str, dst: str) -> None:
        source = {"Bucket": self.bucket, "Key": self._key(src)}
        self.client.copy(source, self.bucket, self._key(dst), Config=self._transfer)
        self.client.delete_object(**source)

    def _delete(self, path: str) -> None:
        key, found = self._key(path), False
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            self.client.delete_object(Bucket=self.bucket, Key=key)
            found = True
        except ClientError as exc:
            if _code(exc) not in _NOT_FOUND:
                raise
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=key + "/"
        )
        for page in pages:
            batch = [{"Key": c["Key"]} for c in page.get("Contents", [])]
            if batch:
                found = True
                self._delete_batch(batch)
        self._abort_uploads(key + "/")
        if not found:
            raise PathNotFound(path)

    def _delete_batch(self, batch: list[dict[str, str]]) -> None:
        response = self.client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(f"s3 delete failed for {len(errors)} keys: {first.get('Code')}")

    def _abort_uploads(self, prefix: str) -> None:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )

    def _redirect_url(self, path: str, method: str, expires_in: int) -> str | None:
        operation = {"GET": "get_object", "HEAD": "head_object"}.get(method.upper())
        if not self.redirect or operation is None:
            return None
        return self.client.generate_presigned_url(
            operation, Params={"Bucket": self.bucket, "Key": self._key(path)}, ExpiresIn=expires_in
        )

    def _walk(self, path: str) -> Iterator[FileInfo]:
        prefix, found = self._dir(path), False
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                found = True
                rel = obj["Key"][len(prefix) :]
                if rel and not any(is_reserved(p) for p in rel.split("/")):
                    yield FileInfo(join(path, rel), obj["Size"], _utc(obj["LastModified"]), False)
        if not found and path != "/":
            raise PathNotFound(path)

    def _translate(self, exc: Exception, path: str) -> StorageError | None:
        if isinstance(exc, ClientError):
            if _code(exc) in _NOT_FOUND:
                return PathNotFound(path, self.name)
            message = exc.response.get("Error", {}).get("Message", "")
            return StorageError(f"s3 {_code(exc)}: {message}", path, self.name)
        if isinstance(exc, BotoCoreError):
            return StorageError(f"s3: {exc}", path, self.name)
        return super()._translate(exc, path)

    def _get(self, path: str, **extra: str) -> dict[str, Any]:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(path), **extra)

    def _objects(self, prefix: str, **extra: Any) -> list[dict[str, Any]]:
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **extra)
        return page.get("Contents", [])

    def _key(self, path: str) -> str:
        return f"{self.prefix}{path}" if self.prefix else path[1:]

    def _dir(self, path: str) -> str:
        if path == "/":
            return f"{self.prefix}/" if self.prefix else ""
        return self._key(path) + "/"


def _session() -> boto3.session.Session:
    """One boto3 session per process: clients built from it share the loaded models."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION


def _wanted(path: str, names: list[str], start_after: str | None) -> list[str]:
    """Keep the names of real children of ``path`` listed after ``start_after``."""
    return [
        n
        for n in names
        if n and not is_reserved(n) and (start_after is None or join(path, n) > start_after)
    ]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _valid_prefix(prefix: str) -> bool:
    try:
        validate_path("/" + prefix)
    except InvalidPath:
        return False
    return True


def _boolean(value: object, name: str) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise StorageConfigError(f"{name} must be true or false, got {value!r}", name)


def _integer(value: object, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise StorageConfigError(f"{name} must be an integer, got {value!r}", name) from None
