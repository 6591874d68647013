from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
MARGIN_RULE_ERP_MINUS_DISCOUNT: MarginRule
MARGIN_RULE_MARGIN: MarginRule
MARGIN_RULE_MARKUP: MarginRule
MARGIN_RULE_SPLIT_MARGIN: MarginRule
MARGIN_RULE_UNSPECIFIED: MarginRule
PROVIDER_RESELLER_STATUS_FAILED: ProviderResellerStatus
PROVIDER_RESELLER_STATUS_PROCESSING: ProviderResellerStatus
PROVIDER_RESELLER_STATUS_SUCCESS: ProviderResellerStatus
PROVIDER_RESELLER_STATUS_UNSPECIFIED: ProviderResellerStatus

class CustomDomain(_message.Message):
    __slots__ = ["custom_domain", "status"]
    CUSTOM_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    custom_domain: str
    status: str
    def __init__(self, custom_domain: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class PriceMargin(_message.Message):
    __slots__ = ["margin_rule", "value"]
    MARGIN_RULE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    margin_rule: MarginRule
    value: float
    def __init__(self, margin_rule: _Optional[_Union[MarginRule, str]] = ..., value: _Optional[float] = ...) -> None: ...

class ProviderData(_message.Message):
    __slots__ = ["indirect_reseller_id", "secondary_mpn_ids"]
    INDIRECT_RESELLER_ID_FIELD_NUMBER: _ClassVar[int]
    SECONDARY_MPN_IDS_FIELD_NUMBER: _ClassVar[int]
    indirect_reseller_id: str
    secondary_mpn_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, indirect_reseller_id: _Optional[str] = ..., secondary_mpn_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ProviderReseller(_message.Message):
    __slots__ = ["offer_type_margins", "price_margin", "provider_data", "provider_instance_id", "provider_reseller_id", "reseller_provider_data", "status"]
    class OfferTypeMarginsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PriceMargin
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PriceMargin, _Mapping]] = ...) -> None: ...
    OFFER_TYPE_MARGINS_FIELD_NUMBER: _ClassVar[int]
    PRICE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_DATA_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_RESELLER_ID_FIELD_NUMBER: _ClassVar[int]
    RESELLER_PROVIDER_DATA_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    offer_type_margins: _containers.MessageMap[str, PriceMargin]
    price_margin: PriceMargin
    provider_data: ProviderData
    provider_instance_id: str
    provider_reseller_id: str
    reseller_provider_data: str
    status: ProviderResellerStatus
    def __init__(self, provider_instance_id: _Optional[str] = ..., price_margin: _Optional[_Union[PriceMargin, _Mapping]] = ..., offer_type_margins: _Optional[_Mapping[str, PriceMargin]] = ..., provider_reseller_id: _Optional[str] = ..., reseller_provider_data: _Optional[str] = ..., status: _Optional[_Union[ProviderResellerStatus, str]] = ..., provider_data: _Optional[_Union[ProviderData, _Mapping]] = ...) -> None: ...

class Reseller(_message.Message):
    __slots__ = ["address_line1", "address_line2", "city", "company_name", "country", "custom_domain", "email", "first_name", "id", "internal_identifier", "last_name", "phone", "provider_resellers", "state", "tax_id", "zip_code"]
    ADDRESS_LINE1_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_LINE2_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    COMPANY_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_RESELLERS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TAX_ID_FIELD_NUMBER: _ClassVar[int]
    ZIP_CODE_FIELD_NUMBER: _ClassVar[int]
    address_line1: str
    address_line2: str
    city: str
    company_name: str
    country: str
    custom_domain: CustomDomain
    email: str
    first_name: str
    id: str
    internal_identifier: str
    last_name: str
    phone: str
    provider_resellers: _containers.RepeatedCompositeFieldContainer[ProviderReseller]
    state: str
    tax_id: str
    zip_code: str
    def __init__(self, id: _Optional[str] = ..., company_name: _Optional[str] = ..., country: _Optional[str] = ..., address_line1: _Optional[str] = ..., address_line2: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., zip_code: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., internal_identifier: _Optional[str] = ..., tax_id: _Optional[str] = ..., provider_resellers: _Optional[_Iterable[_Union[ProviderReseller, _Mapping]]] = ..., custom_domain: _Optional[_Union[CustomDomain, _Mapping]] = ...) -> None: ...

class MarginRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ProviderResellerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
