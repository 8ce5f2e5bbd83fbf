"""Configuration: Settings (frozen), loading them from cfg file, environment and flags, errors.

May import: nothing else from konnect. The only package that reads environment variables.
"""

from konnect.config.errors import ConfigError
from konnect.config.load import load_settings, parse_cfg, serve_help
from konnect.config.model import Settings

__all__ = ["ConfigError", "Settings", "load_settings", "parse_cfg", "serve_help"]
