"""``wharf-index namespace quota NS [SIZE|none|default]``."""

from __future__ import annotations

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import quotas


def test_namespace_quota_sets_and_shows_it(run, uow, make_user, capsys):
    make_user("acme")
    shown = run("namespace", "quota", "acme", "10GiB")
    assert shown.code == 0 and shown.out == "acme: 0 B of 10 GiB used (0 of 10737418240 bytes)\n"
    assert quotas.get_quota(uow, SYSTEM, "acme").limit == 10 << 30
    assert run("namespace", "quota", "acme", "none").out == ("acme: 0 B used (0 bytes), no quota\n")
    assert run("namespace", "quota", "acme", "default").out.endswith("no quota\n")
    with pytest.raises(SystemExit) as bad:  # argparse: usage error, exit 2
        run("namespace", "quota", "acme", "ten")
    assert bad.value.code == 2
    assert "'ten' is not a size" in capsys.readouterr().err
    unknown = run("namespace", "quota", "nobody")
    assert unknown.code == 1 and "wharf-index: error:" in unknown.err
