"""Domain errors of the content layer: data, no HTTP (``api/errors.py`` maps them to codes)."""

from __future__ import annotations


class ContentError(Exception):
    """Base of every content-layer error."""


class NameUnknown(ContentError):
    """The repository has no manifests and no blobs (``NAME_UNKNOWN``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"repository unknown: {name}")


class BlobUnknown(ContentError):
    """The blob is not linked into the repository, or does not exist (``BLOB_UNKNOWN``)."""

    def __init__(self, digest: object) -> None:
        self.digest = str(digest)
        super().__init__(f"blob unknown: {self.digest}")


class UploadUnknown(ContentError):
    """No upload session with this id in this repository (``BLOB_UPLOAD_UNKNOWN``)."""

    def __init__(self, upload_id: str) -> None:
        self.upload_id = upload_id
        super().__init__(f"upload unknown: {upload_id}")


class UploadInvalid(ContentError):
    """The upload cannot proceed, e.g. a body shorter than announced (``BLOB_UPLOAD_INVALID``)."""


class DigestMismatch(ContentError):
    """The uploaded or pushed content does not hash to the digest given (``DIGEST_INVALID``)."""

    def __init__(self, expected: object, actual: object) -> None:
        self.expected = str(expected)
        self.actual = str(actual)
        super().__init__(f"digest mismatch: expected {self.expected}, got {self.actual}")


class SizeInvalid(ContentError):
    """A declared size does not match the content (``SIZE_INVALID``)."""


class UploadRangeInvalid(ContentError):
    """A chunk's ``Content-Range`` is malformed or does not start at the upload's size.

    Answered 416 (end-5) with the spec's ``BLOB_UPLOAD_INVALID`` and the upload's
    ``Location``/``Range``; the session is kept. ``size`` is the upload's current size.
    """

    def __init__(self, message: str, size: int, upload_id: str) -> None:
        self.size = size
        self.upload_id = upload_id
        super().__init__(message)


class RangeNotSatisfiable(ContentError):
    """A blob GET's ``Range`` is invalid or unsatisfiable for the blob's ``size`` bytes.

    Answered 416 with ``Content-Range: bytes */<size>`` (RFC 9110, 15.5.17) and the spec's
    ``SIZE_INVALID``: the range the client gave does not fit the content's length.
    """

    def __init__(self, message: str, size: int) -> None:
        self.size = size
        super().__init__(message)


class ManifestInvalid(ContentError):
    """The manifest is not acceptable: bad JSON, schema, media type (``MANIFEST_INVALID``)."""


class ManifestTooLarge(ManifestInvalid):
    """The manifest is larger than the configured limit (413 per spec, end-7)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"manifest larger than {limit} bytes")


class DescriptorSizeMismatch(ManifestInvalid):
    """Descriptors declare sizes other than those of the content the repository holds.

    ``mismatches`` lists ``(digest, declared size, stored size)``, one ``MANIFEST_INVALID``
    error each.
    """

    def __init__(self, mismatches: list[tuple[str, int, int]]) -> None:
        self.mismatches = list(mismatches)
        super().__init__(
            "; ".join(
                f"{d}: size {declared} declared, {stored} stored"
                for d, declared, stored in self.mismatches
            )
        )


class ManifestBlobUnknown(ContentError):
    """The manifest references blobs or manifests missing in the repository.

    ``digests`` lists every missing one (``MANIFEST_BLOB_UNKNOWN``, one error each).
    """

    def __init__(self, digests: list[str]) -> None:
        self.digests = list(digests)
        super().__init__(f"manifest references unknown blobs: {', '.join(self.digests)}")


class ManifestUnknown(ContentError):
    """No manifest by this tag or digest in the repository (``MANIFEST_UNKNOWN``)."""

    def __init__(self, reference: object) -> None:
        self.reference = str(reference)
        super().__init__(f"manifest unknown: {self.reference}")


class TagImmutable(ContentError):
    """The tag matches an immutable tag pattern of the repository (from the caller's token):
    it may not be moved to another digest nor deleted (``DENIED``, 403)."""

    def __init__(self, name: str, tag: str, pattern: str) -> None:
        self.name, self.tag, self.pattern = name, tag, pattern
        super().__init__(f"tag {tag} is immutable in {name} (pattern {pattern})")


class PaginationInvalid(ContentError):
    """An ``n`` or ``last`` query parameter is malformed."""


class CollectorBusy(ContentError):
    """A push could not be made safe against a running garbage collection in time.

    Either the collection held a blob the push references for longer than the push waits, or
    the push took longer than its deadline between protecting its blobs and linking the
    manifest (docs/garbage-collection.md). Nothing was written; the client may retry.
    """
