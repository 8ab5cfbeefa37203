"""Repository names, tags and references (distribution spec, "Pulling manifests")."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_strategies import repository_names, sha256_hex, tags
from wharf_protocol.digests import Digest, DigestInvalid, UnsupportedDigest
from wharf_protocol.names import (
    MAX_NAME_LENGTH,
    REPOSITORY_NAME_RE,
    NameInvalid,
    Reference,
    ReferenceInvalid,
    TagInvalid,
    is_valid_repository_name,
    is_valid_tag,
    namespace_of,
    parse_reference,
    validate_repository_name,
    validate_tag,
)

VALID_NAMES = ["a", "library/ubuntu", "a0/b-c/d_e", "a__b", "a.b", "a---b", "x/y/z/w"]
INVALID_NAMES = [
    "",
    "A",
    "Library/ubuntu",
    "/a",
    "a/",
    "a//b",
    "..",
    "a/../b",
    "a/..",
    "-a",
    "a-",
    "a___b",
    "a..b",
    "_a",
    "a b",
    "a:b",
    "a/B",
    "é",
    "a\n",
    None,
    42,
]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names_pass_unchanged(name):
    assert validate_repository_name(name) == name
    assert is_valid_repository_name(name)


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_raise_name_invalid(name):
    with pytest.raises(NameInvalid):
        validate_repository_name(name)
    assert not is_valid_repository_name(name)


def test_name_length_limit_default_and_custom():
    name = "a" * MAX_NAME_LENGTH
    assert validate_repository_name(name) == name
    with pytest.raises(NameInvalid, match="longer than 255"):
        validate_repository_name(name + "a")
    with pytest.raises(NameInvalid):
        validate_repository_name("abcdef", max_length=5)
    assert not is_valid_repository_name("abcdef", max_length=5)


def test_namespace_is_first_component():
    assert namespace_of("acme/tools/hammer") == "acme"
    assert namespace_of("ubuntu") == "ubuntu"
    with pytest.raises(NameInvalid):
        namespace_of("Acme/x")


@settings(max_examples=100)
@given(repository_names)
def test_generated_names_are_valid(name):
    assert validate_repository_name(name) == name
    assert namespace_of(name) == name.split("/")[0]


@settings(max_examples=100)
@given(st.text(max_size=20))
def test_validation_agrees_with_the_grammar(text):
    expected = bool(text) and REPOSITORY_NAME_RE.fullmatch(text) is not None
    assert is_valid_repository_name(text) == expected


@settings(max_examples=100)
@given(repository_names, st.sampled_from(["/", "//", "..", "A", " ", ":"]))
def test_corrupted_names_are_rejected(name, junk):
    for bad in (junk + name, name + junk, name + "/" + junk + "/x"):
        if bad != name and not REPOSITORY_NAME_RE.fullmatch(bad):
            assert not is_valid_repository_name(bad)
    assert not is_valid_repository_name(name.upper() + "A")


@pytest.mark.parametrize("tag", ["latest", "v1.0.0", "_x", "A", "a" * 128, "1-2_3.4"])
def test_valid_tags(tag):
    assert validate_tag(tag) == tag
    assert is_valid_tag(tag)


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a" * 129, "a:b", "a/b", "a b", None])
def test_invalid_tags(tag):
    with pytest.raises(TagInvalid):
        validate_tag(tag)
    assert not is_valid_tag(tag)


@settings(max_examples=100)
@given(tags)
def test_generated_tags_parse_as_tag_references(tag):
    ref = parse_reference(tag)
    assert ref == Reference(tag=tag)
    assert not ref.is_digest
    assert str(ref) == tag


@settings(max_examples=100)
@given(sha256_hex)
def test_digest_references(hex_):
    ref = parse_reference("sha256:" + hex_)
    assert ref.is_digest and ref.tag is None
    assert ref.digest == Digest("sha256", hex_)
    assert str(ref) == "sha256:" + hex_


def test_reference_errors():
    with pytest.raises(UnsupportedDigest):
        parse_reference("md5:" + "0" * 32)
    with pytest.raises(DigestInvalid):
        parse_reference("sha256:abc")
    with pytest.raises(DigestInvalid):
        parse_reference("sha256:")
    for bad in ("", ".bad", "a" * 129, None):
        with pytest.raises(ReferenceInvalid):
            parse_reference(bad)


def test_reference_needs_exactly_one_part_and_a_valid_tag():
    digest = Digest("sha256", "0" * 64)
    with pytest.raises(ReferenceInvalid):
        Reference()
    with pytest.raises(ReferenceInvalid):
        Reference(tag="x", digest=digest)
    with pytest.raises(ReferenceInvalid):
        Reference(tag="-x")
    with pytest.raises(AttributeError):
        Reference(tag="x").tag = "y"


def test_one_part_names_are_library_names():
    from wharf_protocol.names import LIBRARY_NAMESPACE, full_repository_name

    assert LIBRARY_NAMESPACE == "library"
    assert full_repository_name("app") == "library/app"
    assert full_repository_name("library/app") == "library/app"
    assert full_repository_name("alice/app") == "alice/app"
    assert full_repository_name("a/b/c") == "a/b/c"
