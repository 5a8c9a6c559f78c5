"""The base of every validated configuration (market rules, simulations, studies, agents).

Settings are frozen pydantic models that refuse unknown keys and infinite or
NaN numbers; `from_dict` turns validation failures into one `ConfigError` that
names each field and what is wrong with it. `Whole` and `Seed` are integer
fields that a YAML `true` must not slip into as 1.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from mars_core.errors import ConfigError

SEED_MAX = 2**63 - 1


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {str(value).lower()}")
    return value


Whole = Annotated[int, BeforeValidator(_not_bool)]
Seed = Annotated[Whole, Field(ge=0, le=SEED_MAX, description="a non-negative integer seed")]


def once(values: tuple) -> tuple:
    """The values, refused (ValueError, for a field validator) when one repeats: it would be counted twice."""
    seen: set = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value:g} twice" if isinstance(value, float) else f"{value} twice")
        seen.add(value)
    return values


MAX_REPORTED = 5  # errors named in one message; a pathological input can have thousands


def describe(err: ValidationError) -> str:
    """'field.sub: problem; other: problem' for the first errors pydantic found (and how many more)."""
    errors = err.errors()
    more = len(errors) - MAX_REPORTED
    return "; ".join(_one(e) for e in errors[:MAX_REPORTED]) + (f"; and {more} more" if more > 0 else "")


def _one(error: Any) -> str:
    where = ".".join(map(str, error["loc"]))
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

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
