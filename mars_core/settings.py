"""The base of every validated configuration (market rules, simulations, studies, agents).

Settings are frozen pydantic models that refuse unknown keys; `from_dict`
turns validation failures into one `ConfigError` that names each field and
what is wrong with it.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from mars_core.errors import ConfigError


def describe(err: ValidationError) -> str:
    """'field.sub: problem; other: problem' for every error pydantic found."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in err.errors())


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def from_dict(cls, data: Any, where: str | None = None) -> Self:
        """Validate a plain mapping (from JSON, YAML, a form or flags)."""
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(f"{where}: {describe(err)}") from None
