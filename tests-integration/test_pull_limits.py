"""Pull rate limits end to end: the Index counts the registry's pull events and refuses
tokens once a caller's pulls are used up; the registry refuses a token's pulls beyond what
the Index left it, with Docker Hub's RateLimit headers.

Limits here: anonymous 2 per 6 h (per client address), users 4 per 6 h. The Index's counts
are read from its database (``pull_counts``) to wait, boundedly, for the events to arrive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg2
import pytest
from oci_client import Image, TokenDenied
from stack import Stack, wait_for

NAME = "alice/limited"
WINDOW = 21600


@pytest.fixture(scope="module")
def stack(make_stack) -> Iterator[Stack]:
    stack = make_stack(
        index_env={
            "INDEX_PULL_LIMIT_ANONYMOUS": "2/6h",
            "INDEX_PULL_LIMIT_AUTHENTICATED": "4/6h",
        }
    ).bootstrap()
    stack.add_registry("reg1", "registry", ["alice"])
    created = stack.api(
        "POST", "/api/v1/repositories", "alice", json={"name": NAME, "visibility": "public"}
    )
    assert created.status_code == 201, created.text
    image = Image.random(layers=1, label=NAME)
    layout = image.write_layout(os.path.join(stack.workdir, "limited"), "1")
    registry = stack.registries["reg1"].address
    stack.login("alice").copy(layout, f"docker://{registry}/{NAME}:1", check=True)
    wait_for(lambda: "1" in stack.tags_at_index(NAME, "alice"), message="the push event")
    yield stack
    stack.close()


def counted(stack: Stack, pattern: str) -> int:
    """The Index's pulls of the subjects matching ``pattern`` (SQL LIKE) in live windows."""
    with psycopg2.connect(stack.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(pulls), 0) FROM pull_counts"
            " WHERE subject LIKE %s AND window_end > now()",
            (pattern,),
        )
        total = int(cur.fetchone()[0])
    conn.close()
    return total


def test_a_token_pulls_what_the_index_left_it_then_the_index_refuses(stack):
    bob = stack.client("reg1", "bob")
    bob.authorize(f"repository:{NAME}:pull")
    remaining = []
    for _ in range(4):
        response = bob.get_manifest(NAME, "1")
        assert response.status_code == 200, response.text
        assert response.headers["RateLimit-Limit"] == f"4;w={WINDOW}"
        remaining.append(response.headers["RateLimit-Remaining"])
    assert remaining == [f"{n};w={WINDOW}" for n in (3, 2, 1, 0)]
    refused = bob.get_manifest(NAME, "1")
    assert refused.status_code == 429, refused.text
    assert refused.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert int(refused.headers["Retry-After"]) >= 1
    head = bob.get_manifest(NAME, "1", method="HEAD")
    assert head.status_code == 200 and head.headers["RateLimit-Remaining"] == f"0;w={WINDOW}"

    wait_for(lambda: counted(stack, "user:bob") == 4, message="bob's 4 pulls at the Index")
    with pytest.raises(TokenDenied):
        bob.authorize(f"repository:{NAME}:pull")
    answer = bob.last_token_response
    assert answer.status_code == 429
    assert answer.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert 1 <= int(answer.headers["Retry-After"]) <= WINDOW
    # another user has pulls of its own
    assert stack.client("reg1", "alice").get_manifest(NAME, "1").status_code == 200


def test_skopeo_pulls_anonymously_until_refused(stack, tmp_path):
    anonymous = stack.skopeo("anonymous")
    reference = f"{stack.registries['reg1'].address}/{NAME}:1"
    for pulls in (1, 2):
        anonymous.copy(f"docker://{reference}", f"oci:{tmp_path}/out:{pulls}", check=True)
        wait_for(
            lambda pulls=pulls: counted(stack, "addr:%") == pulls,
            message=f"{pulls} anonymous pulls at the Index",
        )
    refused = anonymous.inspect(reference)
    assert refused.returncode != 0
    message = refused.stderr.lower()
    assert "too many requests" in message or "toomanyrequests" in message, refused.stderr
