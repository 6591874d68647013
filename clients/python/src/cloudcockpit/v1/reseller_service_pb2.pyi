from buf.validate import validate_pb2 as _validate_pb2
from cloudcockpit.v1 import reseller_pb2 as _reseller_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetResellerRequest(_message.Message):
    __slots__ = ["reseller_id"]
    RESELLER_ID_FIELD_NUMBER: _ClassVar[int]
    reseller_id: str
    def __init__(self, reseller_id: _Optional[str] = ...) -> None: ...
