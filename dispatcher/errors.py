"""One exception tree for the whole product; messages name the file, row, field or rule at fault."""

from __future__ import annotations


class DispatchwiseError(Exception):
    """Base of every error dispatchwise raises on purpose."""

    status_code: int = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | None = None,
        file: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.row = row
        self.file = file
        self.rule = rule
        super().__init__(self.__str__())

    def location(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"column/field '{self.field}'")
        if self.rule is not None:
            parts.append(f"rule '{self.rule}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": type(self).__name__, "detail": str(self), "message": self.message}
        for key in ("field", "row", "file", "rule"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


class InvalidInput(DispatchwiseError):
    """Input that breaks a documented rule (bad value, unknown id, malformed row)."""

    status_code = 422


class Unauthorized(DispatchwiseError):
    """No credentials, or credentials nobody issued."""

    status_code = 401


class Forbidden(DispatchwiseError):
    """The caller's key may not do this (wrong role, or acting for another agent)."""

    status_code = 403


class NotFound(DispatchwiseError):
    status_code = 404


class Conflict(DispatchwiseError):
    """A state transition that is not allowed now (complete twice, accept an expired offer)."""

    status_code = 409


class Infeasible(DispatchwiseError):
    """Hard rules cannot all hold; carries the best partial result when one exists."""

    status_code = 422

    def __init__(self, message: str, *, partial: object = None, **where: str | int | None) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.partial = partial
