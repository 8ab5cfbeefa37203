"""What ``up`` prints once everything answers: URLs, the account, how to log in and push."""

from __future__ import annotations

import os
from collections.abc import Mapping


def text(
    *,
    index_url: str,
    registry_url: str,
    data: str,
    password: str | None,
    external_db: bool,
    pids: Mapping[str, int | None],
) -> str:
    """The banner; ``password`` describes the admin's password when it was set just now."""
    registry = registry_url.removeprefix("http://")
    if password is not None:
        account = f"admin, password {password}"
    else:
        account = "admin (created on an earlier run, with the password shown then)"
    database = "INDEX_DATABASE_URL" if external_db else os.path.join(data, "postgres")
    lines = [
        "",
        "Wharf is up.",
        f"  Index      {index_url}",
        f"  Registry   {registry_url}  (token auth through the Index; registry name 'local')",
        f"  Account    {account}",
        f"  Data       {data}  (database: {database})",
        f"  Logs       {os.path.join(data, 'logs')}",
        "  PIDs       " + " ".join(f"{name}={pid}" for name, pid in pids.items()),
        "",
        "Log in and push:",
        f"  docker login {registry} -u admin",
        f"  docker tag busybox {registry}/admin/busybox && docker push {registry}/admin/busybox",
        f"  skopeo login --tls-verify=false -u admin {registry}",
        f"  skopeo copy --dest-tls-verify=false oci:DIR docker://{registry}/admin/NAME:TAG",
        "",
        "Ctrl-C stops everything; running ./deploy/local/up again reuses the data.",
        "",
    ]
    return "\n".join(lines)
