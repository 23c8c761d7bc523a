"""EmbedError: a failed call, with its gRPC status code (embed.v1.StatusCode)."""

import enum


class StatusCode(enum.IntEnum):
    """embed_status / embed.v1.StatusCode (gRPC's codes, same numbers)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def code_name(code):
    """The name of a status code ("NOT_FOUND"), or "CODE_<n>" for unknown numbers."""
    try:
        return StatusCode(code).name
    except ValueError:
        return "CODE_%d" % code


class EmbedError(Exception):
    """A call failed: `code` is the StatusCode, `code_name` its name, `message` the text."""

    def __init__(self, code, message=""):
        self.code = int(code)
        self.code_name = code_name(self.code)
        self.message = message
        super().__init__(self.code_name + (": " + message if message else ""))

    @classmethod
    def from_status(cls, status):
        """An EmbedError from an embed.v1.Status message."""
        return cls(status.code, status.message)
