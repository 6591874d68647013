from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetAcceptanceLinkRequest(_message.Message):
    __slots__ = ["provider_instance_id", "reseller_id"]
    PROVIDER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESELLER_ID_FIELD_NUMBER: _ClassVar[int]
    provider_instance_id: str
    reseller_id: str
    def __init__(self, provider_instance_id: _Optional[str] = ..., reseller_id: _Optional[str] = ...) -> None: ...

class GetAcceptanceLinkResponse(_message.Message):
    __slots__ = ["url"]
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...
