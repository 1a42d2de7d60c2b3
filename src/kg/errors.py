"""Errors carry their HTTP status; one handler renders them, the CLI converts them."""

from __future__ import annotations


class KGError(Exception):
    """A problem caused by input (a file, a parameter, a query), with a clear message."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(KGError):
    status = 400


class NotFound(KGError):
    status = 404


class NotAcceptable(KGError):
    status = 406


class PayloadTooLarge(KGError):
    status = 413


class QueryTimeout(KGError):
    status = 503


class ServiceBusy(KGError):
    """The server cannot take this query now (load, or the query's own demands); Retry-After says when."""

    status = 503

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DataError(KGError):
    """An input file is malformed: the message names the file and line."""

    status = 500


class ValidationFailed(KGError):
    """The data breaks the SHACL contract or a QC check."""

    status = 500


class BadSetting(KGError):
    """A setting (``KG_<NAME>``) has a value it cannot take: the message names it."""

    status = 500


class NotBuilt(KGError):
    status = 503


class Forbidden(KGError):
    status = 403


class UnsupportedMediaType(KGError):
    status = 415


class BadGateway(KGError):
    status = 502
