"""The example konnectd.cfg and the README's configuration table cover every option."""

from __future__ import annotations

import re
from pathlib import Path

from konnect.config import parse_cfg, serve_help
from konnect.config.load import OPTIONS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "etc" / "konnectd.cfg"
TABLE = ROOT / "README.md"


def test_example_cfg_lists_every_cfg_key_commented_out() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^#([a-z_]+) =", text, flags=re.MULTILINE))
    wanted = {option.cfg for option in OPTIONS if option.cfg}
    assert wanted - listed == set()


def test_example_cfg_sets_nothing_and_parses_cleanly() -> None:
    values, problems = parse_cfg(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    assert (values, problems) == ({}, [])


def test_example_cfg_values_parse_when_uncommented() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = re.sub(r"^#([a-z_]+ =)", r"\1", text, flags=re.MULTILINE)
    values, problems = parse_cfg(uncommented, str(EXAMPLE))
    assert problems == []
    assert values["signing_method"][0] == "PS256"
    assert values["listen"][0] == "127.0.0.1:8777"


def test_configuration_table_names_every_flag_variable_and_key() -> None:
    text = TABLE.read_text(encoding="utf-8")
    names = [
        name
        for option in OPTIONS
        for name in (option.flag, option.env, option.cfg)
        if name is not None
    ]
    missing = [name for name in [*names, "--config", "KONNECTD_CONFIG"] if f"`{name}" not in text]
    assert missing == []


def test_serve_help_shows_every_flag() -> None:
    text = serve_help()
    missing = [option.flag for option in OPTIONS if option.flag and option.flag not in text]
    assert missing == []
