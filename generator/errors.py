"""Errors for bad input: they name the file, line and column and what was expected."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A user mistake in an input file or argument; the CLI prints it and exits 2."""

    def __init__(
        self,
        file: Path | str | None,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.file = str(file) if file is not None else None
        self.message = message
        self.line = line
        self.column = column

    def location(self) -> str:
        if self.file is None:
            return ""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class InputErrors(Exception):
    """Several input errors found in one pass, reported together."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(f"{len(errors)} input error(s)")
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
