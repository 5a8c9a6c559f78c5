"""The small family of errors that user input can raise.

Everything a user can get wrong (files, configs, UI fields, injected orders)
raises a subclass of `MarsInputError` whose message names what is wrong and
where. The CLI and the app catch this family and show the message; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MarsInputError(ValueError):
    """Bad user input; the message is meant to be shown as is."""


class LobsterFormatError(MarsInputError):
    """A LOBSTER file that does not follow the format.

    Args:
        path: the file (or `zip:member`) that is wrong.
        line: 1-based line number in that file, or None when the problem is the whole file.
        problem: what is wrong, in words.
    """

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class DatasetNotFoundError(MarsInputError):
    """No catalogued dataset matches the requested symbol/date."""


class ConfigError(MarsInputError):
    """An invalid configuration value (rules, study, simulation)."""
