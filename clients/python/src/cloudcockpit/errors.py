"""Typed exceptions for failed cloudcockpit-facade calls, with their decoded details.

Every error of the facade carries a google.rpc.Status in the grpc-status-details-bin
trailer: one ErrorInfo (domain "cloudcockpit-facade"), one RequestInfo (request_id = the
call's correlation id) and, where they apply, BadRequest, ResourceInfo and RetryInfo
(docs/errors.md). ``raised()`` turns a grpc.RpcError into the CallError subclass of its
code with those details as attributes; ``from_rpc_error`` does the same for one error::

    with errors.raised():
        stub.GetReseller(request, metadata=md, timeout=10)   # raises errors.NotFound, ...
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Iterator, Optional

import grpc
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "CallError", "InvalidArgument", "Unauthenticated", "PermissionDenied", "NotFound",
    "Aborted", "FailedPrecondition", "ResourceExhausted", "Cancelled", "Internal",
    "Unimplemented", "Unavailable", "DeadlineExceeded", "from_rpc_error", "raised",
]

DETAILS_TRAILER = "grpc-status-details-bin"


class CallError(Exception):
    """A failed call: its code, message and the google.rpc details decoded.

    A detail the status does not carry is None (an error that did not come from the
    facade, such as a refused connection, carries none). ``details`` lists every detail
    in order, unknown types as their google.protobuf.Any.
    """

    code: grpc.StatusCode
    message: str
    error_info: Optional[error_details_pb2.ErrorInfo] = None
    request_info: Optional[error_details_pb2.RequestInfo] = None
    bad_request: Optional[error_details_pb2.BadRequest] = None
    resource_info: Optional[error_details_pb2.ResourceInfo] = None
    retry_info: Optional[error_details_pb2.RetryInfo] = None

    def __init__(self, code: grpc.StatusCode, message: str, details: list):
        super().__init__(f"{code.name}: {message}")
        self.code, self.message, self.details = code, message, details
        for d in details:
            attr = _ATTRS.get(type(d))
            if attr and getattr(self, attr) is None:
                setattr(self, attr, d)

    @property
    def reason(self) -> str:
        """ErrorInfo.reason (INVALID_REQUEST, UPSTREAM_NOT_FOUND, ...), "" without ErrorInfo."""
        return self.error_info.reason if self.error_info else ""

    @property
    def correlation_id(self) -> str:
        """RequestInfo.request_id: the call's correlation id, "" without RequestInfo."""
        return self.request_info.request_id if self.request_info else ""

    @property
    def retry_delay(self) -> Optional[datetime.timedelta]:
        """RetryInfo.retry_delay: how long to wait before retrying, None without RetryInfo."""
        return self.retry_info.retry_delay.ToTimedelta() if self.retry_info else None


class InvalidArgument(CallError):
    """INVALID_ARGUMENT: bad_request lists every violation (field and description)."""


class Unauthenticated(CallError):
    """UNAUTHENTICATED: credentials missing, malformed or refused upstream."""


class PermissionDenied(CallError):
    """PERMISSION_DENIED: the upstream refused the credentials for this resource."""


class NotFound(CallError):
    """NOT_FOUND: resource_info names the resource (GetReseller)."""


class Aborted(CallError):
    """ABORTED: the upstream answered 409."""


class FailedPrecondition(CallError):
    """FAILED_PRECONDITION: the upstream answered 412 or another 4xx."""


class ResourceExhausted(CallError):
    """RESOURCE_EXHAUSTED: rate limited or no upstream slot; retry_info says when to retry."""


class Cancelled(CallError):
    """CANCELLED: the call was cancelled."""


class Internal(CallError):
    """INTERNAL: the upstream failed or answered what cannot be decoded."""


class Unimplemented(CallError):
    """UNIMPLEMENTED: the method is not served."""


class Unavailable(CallError):
    """UNAVAILABLE: the upstream (or the facade) cannot be reached; retry_info when known."""


class DeadlineExceeded(CallError):
    """DEADLINE_EXCEEDED: the call's deadline or the upstream's timeout passed."""


_CLASSES = {c.__name__: c for c in CallError.__subclasses__()}
_ATTRS = {
    error_details_pb2.ErrorInfo: "error_info",
    error_details_pb2.RequestInfo: "request_info",
    error_details_pb2.BadRequest: "bad_request",
    error_details_pb2.ResourceInfo: "resource_info",
    error_details_pb2.RetryInfo: "retry_info",
}


def from_rpc_error(err: grpc.RpcError) -> CallError:
    """Returns the CallError subclass of err's code (CallError itself for other codes),
    with the details of its grpc-status-details-bin trailer decoded."""
    code, message, details = err.code(), err.details() or "", []
    raw = [v for k, v in (err.trailing_metadata() or ()) if k == DETAILS_TRAILER]
    if raw:
        st = status_pb2.Status.FromString(raw[0])
        for any_ in st.details:
            for cls in _ATTRS:
                if any_.Is(cls.DESCRIPTOR):
                    msg = cls()
                    any_.Unpack(msg)
                    details.append(msg)
                    break
            else:
                details.append(any_)
    name = "".join(w.capitalize() for w in code.name.split("_"))
    return _CLASSES.get(name, CallError)(code, message, details)


@contextlib.contextmanager
def raised() -> Iterator[None]:
    """Re-raises a grpc.RpcError of the block as from_rpc_error(err), chained to it."""
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err) from err
