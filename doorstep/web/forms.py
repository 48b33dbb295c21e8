"""Form handling: validate with the API's own schemas, report errors beside fields."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from doorstep.errors import DoorstepError
from doorstep.hub.schemas import FORM_TEXT

M = TypeVar("M", bound=BaseModel)


async def _raw_form(request: Request) -> FormData:
    return await request.form()


async def _form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


RawForm = Annotated[FormData, Depends(_raw_form)]
"""The whole form, for fields that repeat (checkbox lists)."""
FormFields = Annotated[dict[str, str], Depends(_form_fields)]
"""One string per field: what most forms need."""


class FormErrors(Exception):
    """A form failed validation: `errors` maps a field name to a message for the user."""

    def __init__(self, errors: dict[str, str], values: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors
        self.values = values


def parse_form(schema: type[M], values: dict[str, Any]) -> M:
    """Validate `values` with `schema`; raise FormErrors with one message per field."""
    cleaned = {k: v for k, v in values.items() if v not in ("", None)}
    try:
        return schema.model_validate(cleaned, context=FORM_TEXT)  # fields are text
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, _friendly(error["msg"]))
        raise FormErrors(errors, values) from None


def domain_error_as_form(exc: DoorstepError, values: dict[str, Any]) -> FormErrors:
    return FormErrors({exc.field or "form": exc.message}, values)


def _friendly(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[0].upper() + message[1:] if message else "Invalid value"
