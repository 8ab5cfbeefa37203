"""Storage quotas end to end: the administrator gives bob's namespace a small quota at the
Index; skopeo pushes an image under it (the Index then counts its blobs from the registry's
events), and a push that would go beyond is refused by the registry from the token alone,
skopeo showing the registry's message ``quota exceeded: X of Y used``.
"""

from __future__ import annotations

import os
import re

from oci_client import Image
from stack import wait_for

LIMIT = 200 * 1024  # 200 KiB
QUOTA = "/api/v1/namespaces/bob/quota"


def test_a_push_under_the_quota_succeeds_and_one_over_it_is_refused(token_stack):
    stack = token_stack
    registry = stack.registries["reg1"].address
    assert stack.api("PUT", QUOTA, "bob", json={"limit": LIMIT}).status_code == 403
    chosen = stack.api("PUT", QUOTA, "sysop", json={"limit": LIMIT})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json() == {"limit": LIMIT, "used": 0, "default": False}
    bob = stack.login("bob")

    small = Image.random(layers=2, size=20_000, label="quota-small")
    layout = small.write_layout(os.path.join(stack.workdir, "layout-quota-small"), "1")
    bob.copy(layout, f"docker://{registry}/bob/app:1", check=True)
    expected = len(small.manifest) + len(small.config) + sum(len(x) for x in small.layers)

    def counted():
        used = stack.api("GET", QUOTA, "bob").json()["used"]
        return used if used > 0 else None

    assert wait_for(counted, timeout=30, message="the Index to count bob's push") == expected

    large = Image.random(layers=3, size=100_000, label="quota-large")
    layout = large.write_layout(os.path.join(stack.workdir, "layout-quota-large"), "1")
    refused = bob.copy(layout, f"docker://{registry}/bob/app:2")
    assert refused.returncode != 0
    shown = re.search(r"quota exceeded: [0-9.]+ KiB of 200 KiB used", refused.stderr)
    assert shown, refused.stderr
    assert "denied" in refused.stderr
    assert "2" not in stack.tags_at_index("bob/app", "bob")
    listed = bob.list_tags(f"{registry}/bob/app", check=True)
    assert '"2"' not in listed.stdout and '"1"' in listed.stdout
    assert stack.api("GET", QUOTA, "bob").json()["used"] == expected

    # The CLI reads the same numbers; "none" lifts the quota for the next token.
    shown = stack.cli("namespace", "quota", "bob").stdout
    assert shown.startswith("bob: ") and f"of {LIMIT} bytes" in shown
    stack.cli("namespace", "quota", "bob", "none")
    bob.copy(layout, f"docker://{registry}/bob/app:2", check=True)
