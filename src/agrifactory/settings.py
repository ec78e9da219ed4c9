"""Typed settings: the base of every stage's settings model, and short config errors.

Each stage declares its settings once, as a :class:`Settings` model in
``agrifactory/<stage>/rules.py``: types, ranges, defaults, descriptions and
cross-field checks. The workflow's JSON schema is generated from those models
(``make schema``), and the run plan builds them when the Snakefile is parsed, so a
bad value stops ``snakemake -n`` before the first job with a message that names the
key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from agrifactory.errors import ConfigError

#: At most this many problems are listed in one error (the rest are counted).
MAX_LISTED = 5

S = TypeVar("S", bound="Settings")


def _keep_int(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    checked = handler(value)
    return value if type(value) is int else checked


#: For a ``float`` settings field whose value is written into products (raster tags,
#: metrics): an int given in the config stays an int (``365``, not ``365.0``), as it
#: did before the settings were typed, so the products keep their bytes. Put it after
#: the field's range: ``Annotated[float, Field(gt=0), KeepInt]``.
KeepInt = WrapValidator(_keep_int)


class Settings(BaseModel):
    """Base of every settings model: frozen, unknown keys refused, defaults checked."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        use_attribute_docstrings=True,
        protected_namespaces=(),
    )

    @classmethod
    def build(cls: type[S], values: Mapping[str, Any] | None, key: str) -> S:
        """The settings of config section ``key`` (its path, e.g. ``'fusion'``).

        Raises
        ------
        ConfigError
            A short message per problem: the key's full path, the value found and
            what is allowed, with the nearest valid name for a misspelled key.
        """
        try:
            return cls.model_validate(dict(values or {}))
        except ValidationError as exc:
            raise ConfigError(describe(exc, cls, key)) from None


def _join(prefix: str, loc: Sequence[int | str]) -> str:
    parts = [prefix] if prefix else []
    parts += [f"[{p}]" if isinstance(p, int) else str(p) for p in loc]
    return ".".join(parts).replace(".[", "[")


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The settings model that holds the last key of ``loc`` (None if not a model)."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def suggestion(model: type[BaseModel], loc: Sequence[int | str]) -> str:
    """' (did you mean 'x'?)' for a misspelled key, or the valid keys when none is close."""
    holder = _model_at(model, loc)
    if holder is None:
        return ""
    names = list(holder.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (valid keys: {', '.join(names)})"


def _value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """A short, readable account of a validation error: one line per problem."""
    errors = exc.errors(include_url=False)
    lines = []
    for err in errors[:MAX_LISTED]:
        loc = [p for p in err["loc"] if not str(p).startswith("function-")]
        path = _join(prefix, loc) or "config"
        if err["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key{suggestion(model, loc)}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("value_error", "assertion_error") or err["type"].startswith("model_"):
            lines.append(f"{path}: {msg}")
        else:
            lines.append(f"{path} = {_value(err.get('input'))}: {msg}")
    if len(errors) > MAX_LISTED:
        lines.append(f"... and {len(errors) - MAX_LISTED} more")
    head = "invalid config" if len(lines) == 1 else f"invalid config ({len(errors)} problems)"
    return head + ":\n  " + "\n  ".join(lines)
