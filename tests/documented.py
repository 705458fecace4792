"""Which catalog fields carry a docstring in the source (the catalog reference a reader gets).

The catalog schema does not copy attribute docstrings into pydantic's field descriptions: nothing at run
time reads them, and extracting them parses each class's source on every import. The tests read them
from the source instead, as pydantic's `use_attribute_docstrings` would: a string statement directly
below the field's annotated assignment.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from pydantic import BaseModel


def _documented_in(cls: type) -> set[str]:
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    documented = set()
    for statement, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
            and following.value.value.strip()
        ):
            documented.add(statement.target.id)
    return documented


def undocumented_fields(model: type[BaseModel]) -> list[str]:
    """The model's fields (inherited ones included) with neither a docstring nor a description."""
    documented: set[str] = set()
    for cls in model.__mro__:
        if issubclass(cls, BaseModel) and cls is not BaseModel and "__annotations__" in vars(cls):
            documented |= _documented_in(cls)
    return [
        name for name, info in model.model_fields.items() if name not in documented and not info.description
    ]
