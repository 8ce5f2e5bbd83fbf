"""Running the app under uvicorn: `konnectd serve`."""

from __future__ import annotations

import logging
import sys

import uvicorn

from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.http.app import create_app

_LOG_LEVELS = {
    "panic": logging.CRITICAL,
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=_LOG_LEVELS.get(level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigError as error:
        print("konnectd: configuration error:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    host, port = split_listen(settings.listen)
    logging.getLogger("konnect").info(
        "konnect listening on http://%s:%d, issuer %s", host, port, settings.issuer
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        date_header=True,
        timeout_graceful_shutdown=10,
    )
    return 0
