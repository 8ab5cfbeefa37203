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
    tls_ca: str | None = None,
) -> str:
    """The banner; ``password`` describes the admin's password when it was set just now;
    ``tls_ca``: the local CA both services' certificates chain to (``--tls``)."""
    registry = registry_url.removeprefix("http://").removeprefix("https://")
    if password is not None:
        account = f"admin, password {password}"
    else:
        account = "admin (created on an earlier run, with the password shown then)"
    database = "INDEX_DATABASE_URL" if external_db else os.path.join(data, "postgres")
    lines = [
        "",
        "Wharf is up.",
        f"  Index      {index_url}",
        f"  Web pages  {index_url.rstrip('/')}/  (sign in as admin)",
        f"  Registry   {registry_url}  (token auth through the Index; registry name 'local')",
        f"  Account    {account}",
        f"  Data       {data}  (database: {database})",
        f"  Logs       {os.path.join(data, 'logs')}",
        "  PIDs       " + " ".join(f"{name}={pid}" for name, pid in pids.items()),
        "",
        "Log in and push:",
        f"  docker login {registry} -u admin",
        f"  docker tag busybox {registry}/admin/busybox && docker push {registry}/admin/busybox",
        f"  ({registry}/busybox is {registry}/library/busybox: admin and the library"
        " organisation's members push there)",
        *(_tls_lines(registry, tls_ca) if tls_ca else _plain_lines(registry)),
        "",
        "Ctrl-C stops everything; running ./deploy/local/up again reuses the data.",
        "",
    ]
    return "\n".join(lines)


def _plain_lines(registry: str) -> list[str]:
    return [
        f"  skopeo login --tls-verify=false -u admin {registry}",
        f"  skopeo copy --dest-tls-verify=false oci:DIR docker://{registry}/admin/NAME:TAG",
    ]


def _tls_lines(registry: str, ca: str) -> list[str]:
    """How to trust the local CA: a --cert-dir holding ca.crt for skopeo and podman (whose
    default directory is /etc/containers/certs.d/HOST:PORT), docker's certs.d directory."""
    cert_dir = os.path.dirname(ca)
    return [
        f"  skopeo login --tls-verify=true --cert-dir {cert_dir} -u admin {registry}",
        f"  skopeo copy --dest-tls-verify=true --dest-cert-dir {cert_dir} "
        f"oci:DIR docker://{registry}/admin/NAME:TAG",
        f"  podman login --tls-verify=true --cert-dir {cert_dir} -u admin {registry}",
        "",
        f"HTTPS: both certificates are signed by the local CA {ca}. Trust it:",
        f"  skopeo, podman: --cert-dir {cert_dir} (it holds ca.crt), or copy it to",
        f"    /etc/containers/certs.d/{registry}/ca.crt",
        f"  docker: sudo mkdir -p /etc/docker/certs.d/{registry} && "
        f"sudo cp {ca} /etc/docker/certs.d/{registry}/ca.crt",
        f"  curl: --cacert {ca}; Python requests: verify={ca!r}",
        "  Never use --tls-verify=false against it: that turns verification off.",
    ]
