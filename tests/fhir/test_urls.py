"""app.fhir.urls.normalize_url: RFC 3986 normal form, the same bytes httpx sends, refusals."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.fhir.servers import OffServer, parse_base
from app.fhir.urls import UnsafeUrl, UrlError, normalize_url, remove_dot_segments

BASE = "https://ehr.example/fhir"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # RFC 3986 section 5.2.4's own examples, then section 5.4's paths.
        ("/a/b/c/./../../g", "/a/g"),
        ("mid/content=5/../6", "mid/6"),
        ("/b/c/../../../g", "/g"),
        ("/b/c/./g/.", "/b/c/g/"),
        ("/b/c/g/..", "/b/c/"),
        ("/b/c/g;x=1/../y", "/b/c/y"),
        ("/..", "/"),
        ("", ""),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://EHR.Example:443/fhir/Patient/1", "https://ehr.example/fhir/Patient/1"),
        ("http://ehr.example:80", "http://ehr.example/"),
        ("http://ehr.example:8080/fhir", "http://ehr.example:8080/fhir"),
        ("https://ehr.example/fhir/../outside", "https://ehr.example/outside"),
        ("https://ehr.example/fhir/%2e%2e/outside", "https://ehr.example/outside"),
        ("https://ehr.example/fhir/%2E./outside", "https://ehr.example/outside"),
        ("https://ehr.example/fhir/.%2E/outside", "https://ehr.example/outside"),
        ("https://ehr.example/fhir/%2e/Patient", "https://ehr.example/fhir/Patient"),
        ("https://ehr.example/fhir//%2e%2e/x", "https://ehr.example/x"),  # slashes merged first
        ("https://ehr.example/fhir/%7Euser/%41", "https://ehr.example/fhir/~user/A"),
        ("https://ehr.example/fhir/a%3ab", "https://ehr.example/fhir/a%3Ab"),
        ("https://ehr.example/fhir/a b", "https://ehr.example/fhir/a%20b"),
        (
            "https://ehr.example/fhir/x?a=../b&c=%2e%2e",
            "https://ehr.example/fhir/x?a=../b&c=%2e%2e",
        ),
        ("https://ehr.example/fhir/x#fragment", "https://ehr.example/fhir/x"),
        ("  https://ehr.example/fhir\n", "https://ehr.example/fhir"),
        ("http://[::1]:8080/fhir", "http://[::1]:8080/fhir"),
        ("https://exämple.org/fhir", "https://xn--exmple-cua.org/fhir"),
    ],
)
def test_normal_form(url: str, expected: str) -> None:
    normal = normalize_url(url)
    assert str(normal) == expected
    assert normalize_url(str(normal)) == normal  # idempotent
    sent = httpx.URL(str(normal))
    assert sent.raw_path.decode() == normal.path + (f"?{normal.query}" if normal.query else "")


@pytest.mark.parametrize(
    ("url", "unsafe", "why"),
    [
        ("https://ehr.example/fhir/a\u0000b", False, "control character"),
        ("https://ehr.example/fhir/a\u007fb", False, "control character"),
        ("https://ehr.example/fhir/a\u001bb", False, "control character"),
        ("https://ehr.example/fh\tir", False, "control character"),
        ("https://ehr.example/fhir\\..\\x", False, "backslash"),
        ("https://ehr.example/fhir/%zz", False, "percent-encoding"),
        ("https://ehr.example:99999/fhir", False, "port"),
        ("https://ehr.example:0/fhir", False, "port"),
        ("https://ex%41mple.org/fhir", False, "host"),
        ("ftp://ehr.example/fhir", False, "http(s)"),
        ("javascript:alert(1)", False, "http(s)"),
        ("file:///etc/passwd", False, "http(s)"),
        ("data:text/plain,x", False, "http(s)"),
        ("/fhir/Patient/1", False, "http(s)"),
        ("", False, "empty"),
        ("https://" + "a" * 9000, False, "longer"),
        ("https://user:pw@ehr.example/fhir", True, "user information"),
        ("https://ehr.example/fhir/..;/x", True, "servers read differently"),
        ("https://ehr.example/fhir/.;x/y", True, "servers read differently"),
        ("https://ehr.example/fhir/%252e%252e/x", True, "servers read differently"),
        ("https://ehr.example/fhir/..%2fx", True, "servers read differently"),
        ("https://ehr.example/fhir/a%5Cb", True, "servers read differently"),
        ("https://ehr.example/fhir/a%00b", True, "servers read differently"),
    ],
)
def test_refused(url: str, unsafe: bool, why: str) -> None:
    with pytest.raises(UrlError, match=why.replace("(", r"\(").replace(")", r"\)")) as info:
        normalize_url(url)
    assert isinstance(info.value, UnsafeUrl) is unsafe
    assert "ehr.example" not in str(info.value)  # the URL is never repeated


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("Patient/1", "https://ehr.example/fhir/Patient/1"),
        (
            "MedicationRequest?patient=1&page=2",
            "https://ehr.example/fhir/MedicationRequest?patient=1&page=2",
        ),
        (f"{BASE}/x/../MedicationRequest?page=2", f"{BASE}/MedicationRequest?page=2"),
        (f"{BASE}/Medication/./x/%2e%2e/m1", f"{BASE}/Medication/m1"),
        ("?page=2", f"{BASE}/?page=2"),
    ],
)
def test_locate_inside_the_base(link: str, expected: str) -> None:
    base = parse_base(BASE)
    assert base is not None
    assert base.locate(link) == expected


@pytest.mark.parametrize(
    "link",
    [
        "../outside",
        "%2e%2e/outside",
        "/outside",
        "//evil.example/fhir/x",
        f"{BASE}/../outside",
        f"{BASE}/%2e%2e/outside",
        f"{BASE}evil/x",
        "http://ehr.example/fhir/x",
        f"{BASE}/..;/x",
        "https://ehr.example@evil.example/fhir/x",
    ],
)
def test_locate_outside_the_base(link: str) -> None:
    base = parse_base(BASE)
    assert base is not None
    with pytest.raises(OffServer):
        base.locate(link)


url_text = st.text(st.sampled_from(list("/.%2eE5cCfF0a?#;:@\\ \u0000\u007f")), max_size=30)


@settings(max_examples=400, deadline=None)
@given(tail=url_text)
def test_whatever_is_accepted_is_sent_as_checked(tail: str) -> None:
    """Any URL either fails with UrlError or has a normal form that httpx sends unchanged and
    that lies inside the base exactly when its path starts with the base path."""
    base = parse_base(BASE)
    assert base is not None
    try:
        normal = normalize_url(f"{BASE}/{tail}")
    except UrlError:
        return
    sent = httpx.URL(str(normal))
    path = sent.raw_path.decode().split("?", 1)[0]
    assert path == normal.path
    assert "/../" not in path + "/" and "/./" not in path + "/"
    assert normal.is_under(base.url) == (path == "/fhir" or path.startswith("/fhir/"))
    assert normalize_url(str(normal)) == normal
