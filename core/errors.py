"""Domain errors: a business rule refused an operation.

Services raise them; the API maps them to 400s in one place (`core.rest`), views show the
message on the form field it names (`core.forms.apply_errors`).
"""


class DomainError(Exception):
    """A business rule refused an operation; the message is shown to the caller."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
