"""Tags of a repository with digests, sizes and layers (from the image record the Index
keeps from registry events), and their deletion (services/tag_deletion.py: at every
registry holding the repository, then here). Invisible repositories are 404
REPOSITORY_UNKNOWN."""

from __future__ import annotations

from ...context import current, uow
from ...services import tag_deletion, tags
from . import bp
from .auth import principal, require_user
from .openapi import doc
from .pagination import page_body, page_request
from .schemas import TagDetailSchema, TagSchema


@bp.get("/repositories/<api_repo:name>/-/tags")
@doc(auth="optional", response=TagSchema, paginated=True)
def list_tags(name: str):
    """List a repository's tags by name with digest, media type and sizes."""
    wanted = page_request("tags", (str,))
    page = tags.list_tags(uow(), principal(), name, after=wanted.after, limit=wanted.limit)
    return page_body("tags", page, TagSchema(many=True).dump(page.items))


@bp.get("/repositories/<api_repo:name>/-/tags/<tag>")
@doc(auth="optional", response=TagDetailSchema)
def get_tag(name: str, tag: str):
    """Return one tag with its manifest's config and layers (digest, size, media type)."""
    return TagDetailSchema().dump(tags.get_tag(uow(), principal(), name, tag))


@bp.delete("/repositories/<api_repo:name>/-/tags/<tag>")
@doc(auth="user", status=204, errors=(409, 502))
def delete_tag(name: str, tag: str):
    """Delete a tag at the registries holding the repository, then here (repository admins;
    access tokens with a scope naming ``admin``). 409 TAG_IMMUTABLE: the tag matches an
    immutable pattern; 503 REGISTRY_UNAVAILABLE: a registry could not be reached (nothing
    was deleted); 502: a registry refused."""
    tag_deletion.delete_tag(uow(), current().agent, require_user(), name, tag)
    return "", 204
