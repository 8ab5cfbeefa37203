"""htpasswd backend: bcrypt only, the verification cache, credential parsing."""

import base64

import bcrypt
import pytest
from flask import Flask
from wharf_registry.auth.base import AuthenticationRequired
from wharf_registry.auth.htpasswd import HtpasswdAuth, HtpasswdError, load_htpasswd

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).replace(b"$2b$", b"$2y$")
CHECKPW = bcrypt.checkpw


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


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic",
        "Basic %%%",
        basic("", "pw"),
        "Basic " + base64.b64encode(b"nocolon").decode(),
        basic("alice", "bad"),
        basic("eve", "pw"),
    ],
)
def test_rejected(header):
    auth = HtpasswdAuth({"alice": HASH}, "realm")
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(request_with(header))
    assert auth.challenge([]) == 'Basic realm="realm"'


def hash_with(cost, password=b"pw"):
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds=cost)).replace(b"$2b$", b"$2y$")


def checked_costs(monkeypatch, auth, header):
    """Return the bcrypt cost of every hash ``authenticate(header)`` checked a password against."""
    costs = []
    monkeypatch.setattr(
        bcrypt,
        "checkpw",
        lambda password, hashed: costs.append(int(hashed[4:6])) or CHECKPW(password, hashed),
    )
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(request_with(header))
    return costs


def test_an_unknown_user_costs_one_check_at_the_cost_of_the_file(monkeypatch):
    auth = HtpasswdAuth({"alice": HASH}, "r")  # htpasswd -B makes cost-5 hashes; HASH is 4
    wrong_password = checked_costs(monkeypatch, auth, basic("alice", "bad"))
    unknown_user = checked_costs(monkeypatch, auth, basic("mallory", "bad"))
    assert wrong_password == unknown_user == [4]


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        ([4, 4, 5], 4),  # the most common cost: unknown users look like most users
        ([4, 5], 5),  # a tie goes to the highest
        ([], 10),
    ],
)
def test_the_dummy_hash_takes_the_most_common_cost(monkeypatch, costs, expected):
    users = {f"user{i}": hash_with(cost) for i, cost in enumerate(costs)}
    auth = HtpasswdAuth(users, "r")
    assert checked_costs(monkeypatch, auth, basic("mallory", "pw")) == [expected]


@pytest.mark.parametrize("cost", ["03", "32", "99"])
def test_load_refuses_costs_bcrypt_cannot_check(tmp_path, cost):
    path = tmp_path / "h"
    path.write_text(f"alice:{HASH.decode().replace('$04$', f'${cost}$')}\n")
    with pytest.raises(HtpasswdError, match="line 1: bcrypt cost"):
        load_htpasswd(str(path))


def test_a_password_longer_than_bcrypt_reads_is_checked_on_its_first_72_bytes():
    auth = HtpasswdAuth({"alice": hash_with(4, b"p" * 72)}, "r")  # as htpasswd -B hashes it
    assert auth.authenticate(request_with(basic("alice", "p" * 100))).name == "alice"
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(request_with(basic("alice", "q" * 100)))
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(request_with(basic("mallory", "p" * 100)))
