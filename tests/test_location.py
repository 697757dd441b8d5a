"""Index locations, credentials and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildout.privateindex.sharing.location import (
    Credentials,
    IndexLocation,
    LocationError,
    find_credentials,
    netrc_credentials,
    parse_location,
    pypirc_credentials,
    redact,
    split_credentials,
)


def test_redact_hides_user_info_only() -> None:
    assert redact("get https://joe:secret@h.example/simple/x now") == (
        "get https://***@h.example/simple/x now"
    )
    assert redact("http://h.example/a@b") == "http://h.example/a@b"
    assert redact("no urls here") == "no urls here"
    # pip's output: URLs at line ends, one per line, tabs.
    text = "Looking in https://u:p1@h/simple/\nhttps://v:p2@h2\n\thttp://w@h3/x ok"
    assert redact(text) == "Looking in https://***@h/simple/\nhttps://***@h2\n\thttp://***@h3/x ok"


def test_split_credentials_decodes_percent_escapes() -> None:
    url, creds = split_credentials("https://joe:s%3Ac%40t@h.example:8443/simple/")
    assert url == "https://h.example:8443/simple/"
    assert creds == Credentials("joe", "s:c@t")
    assert "s:c@t" not in repr(creds) and "s:c@t" not in str(creds)


def test_parse_local_directory_root_or_simple(tmp_path: Path) -> None:
    (tmp_path / "idx" / "simple").mkdir(parents=True)
    (tmp_path / "idx" / "simple" / "index.html").write_text("")
    for value in ("idx", "idx/simple", str(tmp_path / "idx"), (tmp_path / "idx").as_uri()):
        location = parse_location(value, tmp_path)
        assert location.path == tmp_path / "idx" / "simple"
        assert location.url == (tmp_path / "idx" / "simple").as_uri() + "/"
        assert location.exists() and location.is_local and location.host is None


def test_parse_missing_directory_means_its_future_simple(tmp_path: Path) -> None:
    location = parse_location("not-yet", tmp_path)
    assert location.path == tmp_path / "not-yet" / "simple"
    assert not location.exists()


def test_parse_http_url() -> None:
    location = parse_location("https://joe:pw@packages.example.com/simple")
    assert location.url == "https://packages.example.com/simple/"
    assert location.host == "packages.example.com"
    assert location.url_with_credentials() == "https://joe:pw@packages.example.com/simple/"
    assert location.exists()


@pytest.mark.parametrize("value", ["", "ftp://x/simple/", "https:///simple/"])
def test_parse_rejects(value: str) -> None:
    with pytest.raises(LocationError):
        parse_location(value)


def test_error_redacts_credentials() -> None:
    with pytest.raises(LocationError) as info:
        parse_location("https://joe:topsecret@/simple/")
    assert "topsecret" not in str(info.value)


def test_netrc_and_pypirc(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine h.example login joe password pw1\n")
    netrc.chmod(0o600)
    assert netrc_credentials("h.example", str(netrc)) == Credentials("joe", "pw1", "~/.netrc")
    assert netrc_credentials("other.example", str(netrc)) is None
    pypirc = tmp_path / "pypirc"
    pypirc.write_text(
        "[p]\nrepository = https://h.example/simple/\nusername = ann\npassword = pw2\n"
    )
    assert pypirc_credentials("https://h.example/simple/foo/", str(pypirc)) == Credentials(
        "ann", "pw2", "~/.pypirc"
    )
    assert pypirc_credentials("https://elsewhere.example/simple/", str(pypirc)) is None


@pytest.mark.parametrize(
    ("url", "matches"),
    [
        ("https://h.example/simple/", True),
        ("https://h.example/simple/foo/", True),
        ("https://H.EXAMPLE:443/simple/foo/", True),
        ("https://h.example/simple", True),
        ("https://h.example.evil/simple/", False),  # was a match: a bare startswith
        ("https://h.example/simple-other/", False),
        ("https://h.example:8443/simple/", False),
        ("http://h.example/simple/", False),
        ("https://h.example/", False),
    ],
)
def test_pypirc_matches_scheme_host_port_and_whole_segments(
    tmp_path: Path, url: str, matches: bool
) -> None:
    pypirc = tmp_path / "pypirc"
    pypirc.write_text("[p]\nrepository = https://h.example/simple\nusername = ann\npassword = pw\n")
    found = pypirc_credentials(url, str(pypirc))
    assert (found == Credentials("ann", "pw", "~/.pypirc")) if matches else found is None


def test_find_credentials_prefers_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine h.example login joe password fromnetrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_credentials(parse_location("https://h.example/simple/")) == Credentials(
        "joe", "fromnetrc", "~/.netrc"
    )
    url_creds = find_credentials(parse_location("https://a:b@h.example/simple/"))
    assert url_creds == Credentials("a", "b")
    assert find_credentials(IndexLocation("file:///x/", Path("/x"))) is None
