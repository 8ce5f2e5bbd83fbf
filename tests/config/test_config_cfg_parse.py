"""Parsing Konnect's konnectd.cfg format."""

from __future__ import annotations

from konnect.config import parse_cfg

SAMPLE = "\n".join(
    [
        "# a comment",
        "   # an indented comment",
        "",
        "listen = 127.0.0.1:9000",
        "  log_level=debug   ",
        "ldap_filter = (&(objectClass=person)(uid=*))",
        "signing_kid =",
        'quoted = "with spaces "',
        "single = 'x'",
        'args = "http://backend" "a b"',
    ]
)


def test_reads_keys_values_and_line_numbers() -> None:
    values, problems = parse_cfg(SAMPLE, "konnectd.cfg")
    assert problems == []
    assert values["listen"] == ("127.0.0.1:9000", 4)
    assert values["log_level"] == ("debug", 5)


def test_keeps_equals_signs_inside_the_value() -> None:
    values, _ = parse_cfg(SAMPLE, "konnectd.cfg")
    assert values["ldap_filter"][0] == "(&(objectClass=person)(uid=*))"


def test_empty_value_means_unset() -> None:
    values, _ = parse_cfg(SAMPLE, "konnectd.cfg")
    assert "signing_kid" not in values


def test_empty_value_unsets_an_earlier_one() -> None:
    values, _ = parse_cfg("listen = 1.2.3.4:5\nlisten =\n", "f.cfg")
    assert values == {}


def test_later_line_wins() -> None:
    values, _ = parse_cfg("listen = 1.2.3.4:5\nlisten = 6.7.8.9:10\n", "f.cfg")
    assert values["listen"] == ("6.7.8.9:10", 2)


def test_whole_value_quotes_are_removed_but_inner_quotes_kept() -> None:
    values, _ = parse_cfg(SAMPLE, "konnectd.cfg")
    assert values["quoted"][0] == "with spaces "
    assert values["single"][0] == "x"
    assert values["args"][0] == '"http://backend" "a b"'


def test_comment_marker_inside_a_value_is_kept() -> None:
    values, _ = parse_cfg("ldap_bindpw = se#cret\n", "f.cfg")
    assert values["ldap_bindpw"][0] == "se#cret"


def test_every_bad_line_is_reported_with_file_and_line() -> None:
    text = "listen = 1.2.3.4:5\nthis is not a setting\n\n= value\nlog_level = info\n"
    values, problems = parse_cfg(text, "/etc/kopano/konnectd.cfg")
    assert problems == [
        "/etc/kopano/konnectd.cfg:2: expected key = value",
        "/etc/kopano/konnectd.cfg:4: expected key = value",
    ]
    assert set(values) == {"listen", "log_level"}
