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
from typing import Any, TypeVar, get_args

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


def none_as_empty(value: Any) -> Any:
    """``None`` as ``{}``: a mapping setting that a config read later clears with null
    (Snakemake merges mappings of config files key by key, so ``{}`` would keep the
    earlier file's keys)."""
    return {} if value is None else value


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


def _is_key(part: int | str) -> bool:
    """Whether a location part is a key or index, not a pydantic tag such as
    ``function-after[...]``, ``literal['a','b']`` or ``dict[str,int]`` (union members)."""
    return isinstance(part, int) or not any(c in part for c in "[(-")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model an annotation holds (through ``X | None`` and ``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [m for m in map(_model_in, get_args(annotation)) if m is not None]
    return models[0] if len(models) == 1 else None


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The settings model that holds the last key of ``loc`` (None if not a model)."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part)) if current is not None else None
        current = _model_in(field.annotation) if field is not None else None
    return current


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


def _line(err: Mapping[str, Any], model: type[BaseModel], prefix: str) -> tuple[str, str, str]:
    """One problem: its key path, the line's head and what is wrong."""
    loc = [p for p in err["loc"] if _is_key(p)]
    path = _join(prefix, loc) or "config"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return path, f"{path}: ", f"unknown key{suggestion(model, loc)}"
    if err["type"] == "missing":
        return path, f"{path}: ", "missing (required here)"
    if err["type"] in ("value_error", "assertion_error") or err["type"].startswith("model_"):
        # A cross-field check names its keys itself (e.g. "fusion.tile_block (1000) ...").
        return path, "" if f"{path}." in msg else f"{path}: ", msg
    return path, f"{path} = {_value(err.get('input'))}: ", msg


def describe(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """A short, readable account of a validation error: one line per key (what the
    members of a union each refused is joined with 'or')."""
    errors = exc.errors(include_url=False)
    heads: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for err in errors:
        path, head, msg = _line(err, model, prefix)
        heads.setdefault(path, head)
        problems.setdefault(path, []).append(msg)
    lines = [heads[p] + "; or ".join(msgs) for p, msgs in problems.items()]
    count = len(lines)
    lines = lines[:MAX_LISTED] + (
        [f"... and {count - MAX_LISTED} more"] if count > MAX_LISTED else []
    )
    head = "invalid config" if count == 1 else f"invalid config ({count} problems)"
    return head + ":\n  " + "\n  ".join(lines)
