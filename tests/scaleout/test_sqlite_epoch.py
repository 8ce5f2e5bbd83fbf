"""Two `konnectd serve` processes sharing one SQLite state and credential file: a reset with
`--revoke-sessions` run against that file ends the user's sign-in at both within the epoch
cache's lifetime."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from konnect.mfa.epochs import EPOCH_CACHE_TTL
from tests.conftest import browser, sign_in
from tests.flows.test_bad_input import good_params
from tests.scaleout.test_multi_instance import AUTHORIZE, Instance, start_instances
from tests.test_mfa_command import konnectd

#: Slack for a loaded machine on top of the cache's lifetime.
SLACK = 3


@pytest.fixture
def sharing_pair(key_dir: Path, config_dir: Path, tmp_path: Path) -> Iterator[list[Instance]]:
    data = str(tmp_path / "data")
    instances = start_instances(key_dir, config_dir, "--data-dir", data, "--mfa", "optional")
    yield instances
    for instance in instances:
        instance.stop()


def silent_error(instance: Instance, client: httpx.Client) -> str:
    """The error of a prompt=none request at `instance` ("" when it answers with a code)."""
    response = client.get(instance.url + AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["error"][0] if "error" in query else ""


def test_a_reset_on_the_shared_file_ends_the_sign_in_at_both_instances(
    sharing_pair: list[Instance], tmp_path: Path
) -> None:
    first, second = sharing_pair
    with browser(first.url) as client:
        assert sign_in(client, first.url).json()["success"] is True
        assert silent_error(first, client) == ""
        assert silent_error(second, client) == ""  # the second has read the epoch too
        reset = konnectd(
            tmp_path / "data", "reset", "identifier-users", "1001", "--revoke-sessions"
        )
        assert reset.returncode == 0, reset.stderr
        reset_at = time.monotonic()
        ended: dict[str, float] = {}
        while len(ended) < 2 and time.monotonic() < reset_at + EPOCH_CACHE_TTL + SLACK:
            for instance in (first, second):
                if instance.url not in ended and silent_error(instance, client):
                    assert silent_error(instance, client) == "login_required"
                    ended[instance.url] = time.monotonic() - reset_at
            time.sleep(0.2)
        assert set(ended) == {first.url, second.url}, ended
