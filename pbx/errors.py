"""One error type per boundary, each with a message a person can act on."""


class PbxError(Exception):
    """Something the operator must fix (missing package, bad config, service down)."""


class ValidationError(PbxError):
    """Bad input from a user, a script or a bot command; the message says what to fix."""


class NotFound(PbxError):
    """The thing asked for does not exist in this company."""


class EngineUnavailable(PbxError):
    """The SIP engine thread is not running; pending work fails at once."""
