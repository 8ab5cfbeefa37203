"""Hypothesis strategies shared by the protocol tests (grammar-driven generators)."""

from hypothesis import strategies as st

ALNUM = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
SEPARATOR = st.sampled_from([".", "_", "__", "-", "--", "---"])


@st.composite
def components(draw):
    """Draw one path component of the OCI name grammar."""
    parts = [draw(ALNUM)]
    for _ in range(draw(st.integers(0, 2))):
        parts += [draw(SEPARATOR), draw(ALNUM)]
    return "".join(parts)


repository_names = (
    st.lists(components(), min_size=1, max_size=4).map("/".join).filter(lambda n: len(n) <= 255)
)

tags = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("abcXYZ019_"),
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", max_size=127),
)

sha256_hex = st.text("0123456789abcdef", min_size=64, max_size=64)
sha512_hex = st.text("0123456789abcdef", min_size=128, max_size=128)

ports = st.integers(1, 65535).map(str)
hostnames = st.builds(
    lambda host, port: host + (":" + port if port else ""),
    st.sampled_from(["localhost", "registry.example.com", "Reg-1.example", "10.0.0.1"]),
    st.one_of(st.none(), ports),
)
scope_names = st.one_of(
    repository_names,
    st.builds(lambda h, n: f"{h}/{n}", hostnames, repository_names),
)
actions = st.frozensets(st.sampled_from(["pull", "push", "delete", "*", "read"]), min_size=1)
scope_types = st.sampled_from(["repository", "registry", "repository(plugin)", "image"])

# Printable ASCII: what an HTTP header value may carry, including "," '"' and "\".
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
