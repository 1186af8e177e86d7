"""Request validation with Django REST Framework's coercions and messages (400s read like Cekura's).

A rule turns a raw JSON value into a clean one or raises `Invalid(message)`; `validate` applies
rules to a body and gathers every failure into one `{field: [message]}` dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Rule = Callable[[Any], Any]

REQUIRED = "This field is required."
_TRUE = {True, "true", "True", "TRUE", "1", "yes", "on", "y", "t"}  # True == 1
_FALSE = {False, "false", "False", "FALSE", "0", "no", "off", "n", "f"}  # False == 0


class Invalid(ValueError):
    """One field's validation failure; `detail` replaces `[message]` for nested errors."""

    def __init__(self, message: str = "", detail: Any = None) -> None:
        super().__init__(message)
        self.detail = detail


class ValidationFailed(Exception):
    """A request body's validation failures, in DRF's `{field: [message, ...]}` shape."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


def validate(
    body: Mapping[str, Any],
    rules: Mapping[str, Rule],
    *,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """The known fields of `body`, cleaned; unknown fields are ignored as DRF does."""
    errors: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    for name in required:
        if name not in body:
            errors[name] = [REQUIRED]
    for name, rule in rules.items():
        if name in body and name not in errors:
            try:
                clean[name] = rule(body[name])
            except Invalid as exc:
                errors[name] = exc.detail if exc.detail is not None else [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    return clean


def nullable(rule: Rule) -> Rule:
    return lambda value: None if value is None else rule(value)


def _not_null(value: Any) -> None:
    if value is None:
        raise Invalid("This field may not be null.")


def string(*, max_length: int | None = None, blank: bool = True) -> Rule:
    def rule(value: Any) -> str:
        _not_null(value)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise Invalid("Not a valid string.")
        text = str(value)
        if not blank and not text.strip():
            raise Invalid("This field may not be blank.")
        if max_length is not None and len(text) > max_length:
            raise Invalid(f"Ensure this field has no more than {max_length} characters.")
        return text

    return rule


def integer(value: Any) -> int:
    _not_null(value)
    if isinstance(value, bool):
        raise Invalid("A valid integer is required.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise Invalid("A valid integer is required.")


def number(value: Any) -> float:
    _not_null(value)
    if isinstance(value, bool):
        raise Invalid("A valid number is required.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Invalid("A valid number is required.") from None


def boolean(value: Any) -> bool:
    _not_null(value)
    if isinstance(value, list | dict):
        raise Invalid("Must be a valid boolean.")
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Invalid("Must be a valid boolean.")


def choice(choices: Iterable[str]) -> Rule:
    allowed = tuple(choices)

    def rule(value: Any) -> str:
        _not_null(value)
        if not isinstance(value, str) or value not in allowed:
            raise Invalid(f'"{value}" is not a valid choice.')
        return value

    return rule


def list_of(item: Rule) -> Rule:
    def rule(value: Any) -> list[Any]:
        _not_null(value)
        if not isinstance(value, list):
            raise Invalid(f'Expected a list of items but got type "{type(value).__name__}".')
        return [item(v) for v in value]

    return rule


def bounded_list(item: Rule, *, min_items: int, max_items: int) -> Rule:
    """A list of `min_items`..`max_items` items, each checked by `item` (DRF ListField)."""

    def rule(value: Any) -> list[Any]:
        items = list_of(item)(value)
        if len(items) < min_items:
            raise Invalid(f"Ensure this field has at least {min_items} elements.")
        if len(items) > max_items:
            raise Invalid(f"Ensure this field has no more than {max_items} elements.")
        return items

    return rule


def nested(rules: Mapping[str, Rule], *, required: Iterable[str] = ()) -> Rule:
    """An object validated by its own rules; its errors nest under the field, as DRF's do."""
    names = tuple(required)

    def rule(value: Any) -> dict[str, Any]:
        _not_null(value)
        if not isinstance(value, dict):
            kind = "list" if isinstance(value, list) else type(value).__name__
            raise Invalid(
                "",
                detail={
                    "non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]
                },
            )
        try:
            return validate(value, rules, required=names)
        except ValidationFailed as exc:
            raise Invalid("", detail=exc.errors) from None

    return rule


def anything(value: Any) -> Any:
    return value


def json_array(value: Any) -> list[Any]:
    _not_null(value)
    if not isinstance(value, list):
        raise Invalid(f'Expected a list of items but got type "{type(value).__name__}".')
    return value
