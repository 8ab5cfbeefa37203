"""htpasswd backend: bcrypt only, the verification cache, credential parsing."""

import base64

import bcrypt
import pytest
from flask import Flask
from wharf_registry.auth.base import AuthenticationRequired
from wharf_registry.auth.htpasswd import HtpasswdAuth, HtpasswdError, load_htpasswd

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).replace(b"$2b$", b"$2y$")


def request_with(header):
    app = Flask(__name__)
    with app.test_request_context(headers={"Authorization": header} if header else {}) as ctx:
        return ctx.request


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_load_skips_comments_and_reads_bcrypt(tmp_path):
    path = tmp_path / "h"
    path.write_text(f"# users\n\nalice:{HASH.decode()}\n")
    assert load_htpasswd(str(path)) == {"alice": HASH}


def test_load_errors(tmp_path):
    with pytest.raises(HtpasswdError, match="cannot read"):
        load_htpasswd(str(tmp_path / "missing"))


def test_cache_skips_bcrypt_for_a_known_good_pair(monkeypatch):
    now = [0.0]
    auth = HtpasswdAuth({"alice": HASH}, "r", clock=lambda: now[0])
    assert auth.authenticate(request_with(basic("alice", "pw"))).name == "alice"
    monkeypatch.setattr(bcrypt, "checkpw", lambda *a: pytest.fail("bcrypt called"))
    assert auth.authenticate(request_with(basic("alice", "pw"))).name == "alice"
    now[0] = 61.0
    monkeypatch.setattr(bcrypt, "checkpw", lambda *a: False)
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(request_with(basic("alice", "pw")))


def test_cache_holds_no_password():
    auth = HtpasswdAuth({"alice": HASH}, "r")
    auth.authenticate(request_with(basic("alice", "pw")))
    assert all(b"pw" not in key and b"alice" not in key for key in auth._cache)


@pytest.mark.parametrize("header", [None, "Basic", "Basic %%%", basic("", "pw"),
                                    "Basic " + base64.b64encode(b"nocolon").decode(),
                                    basic("alice", "bad"), basic("eve", "pw")])
def test_rejected(header):
    auth = HtpasswdAuth({"alice": HASH}, "realm")
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(request_with(header))
    assert auth.challenge([]) == 'Basic realm="realm"'
