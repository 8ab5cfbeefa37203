"""S3 streams: the writer, a multipart upload that survives the end of a request.

State in the bucket, so any process can resume (there is no state in the process):

- the multipart upload of ``<key>`` holds the parts sent so far; every part is at least
  5 MiB (S3 rejects smaller non-final parts on completion), normally ``chunksize``;
- the pending object ``<dir>/.wharf-pending.<name>`` holds the tail (the bytes after the
  last part, < 5 MiB) and, in its metadata ``wharf-upload-id``, the UploadId.

``write`` buffers at most one part in a SpooledTemporaryFile (memory stays bounded) and
sends a part whenever ``chunksize`` bytes are buffered. ``close()`` sends a buffer of
5 MiB or more as a part, stores the rest as the pending object and keeps the upload open.
``S3Writer(..., append=True)`` reads the pending object and ListParts, then continues.
``commit()`` sends the tail as the last part and completes (or, below one part in total,
puts the object whole); ``cancel()`` aborts the upload. Both delete the pending object
if this writer took it over (a new writer never touches another writer's state).

Readers are GetObject bodies wrapped by :func:`open_body` into buffered binary files.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from typing import Any, BinaryIO

MIB = 1 << 20
MIN_PART = 5 * MIB
SPOOL_MEMORY = 1 * MIB
UPLOAD_ID_META = "wharf-upload-id"


class S3Writer:
    """Write ``key`` through a multipart upload; see the module docstring."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        pending_key: str,
        chunksize: int,
        append: bool,
    ):
        self._client = client
        self._bucket = bucket
        self._key = key
        self._pending_key = pending_key
        self._chunksize = chunksize
        self._buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self._buffered = 0
        self._parts: list[dict[str, Any]] = []
        self._uploaded = 0
        self._upload_id: str | None = None
        self._owns_pending = False
        if append:
            try:
                self._resume()
            except BaseException:
                self._buffer.close()
                raise

    @property
    def size(self) -> int:
        return self._uploaded + self._buffered

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            take = view[: self._chunksize - self._buffered]
            self._buffer.write(take)
            self._buffered += len(take)
            view = view[len(take) :]
            if self._buffered >= self._chunksize:
                self._send_part()
        return len(data)

    def close(self) -> None:
        with self._buffer:
            if self._buffered >= MIN_PART:
                self._send_part()
            metadata = {UPLOAD_ID_META: self._upload_id} if self._upload_id else {}
            self._put(self._pending_key, Metadata=metadata)

    def commit(self) -> None:
        with self._buffer:
            if self._upload_id is not None and (self._parts or self._buffered):
                if self._buffered:
                    self._send_part()
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
            else:
                self._put(self._key)
        self._drop_pending()

    def cancel(self) -> None:
        self._buffer.close()
        if self._upload_id is not None:
            self._abort()
        self._drop_pending()

    def _resume(self) -> None:
        response = self._client.get_object(Bucket=self._bucket, Key=self._pending_key)
        with response["Body"] as body:
            shutil.copyfileobj(body, self._buffer, MIB)
        self._buffered = self._buffer.tell()
        self._upload_id = response.get("Metadata", {}).get(UPLOAD_ID_META) or None
        self._owns_pending = True
        if self._upload_id is not None:
            pages = self._client.get_paginator("list_parts").paginate(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )
            for page in pages:
                for part in page.get("Parts", []):
                    self._parts.append({"PartNumber": part["PartNumber"], "ETag": part["ETag"]})
                    self._uploaded += part["Size"]
            self._parts.sort(key=lambda p: p["PartNumber"])

    def _send_part(self) -> None:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        self._buffer.seek(0)
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=self._buffer,
            ContentLength=self._buffered,
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._uploaded += self._buffered
        self._buffered = 0
        self._buffer.seek(0)
        self._buffer.truncate()

    def _put(self, key: str, **extra: Any) -> None:
        self._buffer.seek(0)
        self._client.put_object(
            Bucket=self._bucket, Key=key, Body=self._buffer, ContentLength=self._buffered, **extra
        )

    def _abort(self) -> None:
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )
        except self._client.exceptions.NoSuchUpload:
            pass

    def _drop_pending(self) -> None:
        if self._owns_pending:
            self._client.delete_object(Bucket=self._bucket, Key=self._pending_key)


class _Body(io.RawIOBase):
    """A raw stream over a botocore StreamingBody (closed with it)."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_body(body: Any) -> BinaryIO:
    """Wrap a botocore StreamingBody as a buffered binary file (closing closes the body)."""
    return io.BufferedReader(_Body(body), buffer_size=MIB)
