"""One error type per boundary, each with a message a person can act on."""

from typing import Any


class PbxError(Exception):
    """Something the operator must fix (missing package, bad config, service down).

    `key` and `params` let a front end (the bot) say the same thing in the user's
    language; the message is the English text for logs and the CLI.
    """

    def __init__(self, message: str, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


class ValidationError(PbxError):
    """Bad input from a user, a script or a bot command; the message says what to fix."""


class NotFound(PbxError):
    """The thing asked for does not exist in this company."""


class EngineUnavailable(PbxError):
    """The SIP engine thread is not running; pending work fails at once."""
