"""Configuration problems, collected and reported together."""

from __future__ import annotations


class ConfigError(Exception):
    """One or more configuration problems; each names its key, file or line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)
