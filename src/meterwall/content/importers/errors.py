"""The one error an importer raises: a problem with the file, located by line."""

from __future__ import annotations


class ImportProblem(Exception):
    """Why a file cannot be imported, with the 1-based line it was found at (0 if none)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def located(self, name: str) -> str:
        """The problem as ``name:line: message`` (without the line when unknown)."""
        if self.line > 0:
            return f"{name}:{self.line}: {self.message}"
        return f"{name}: {self.message}"
