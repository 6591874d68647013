import type { GenEnum, GenFile, GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file cloudcockpit/v1/reseller.proto.
 */
export declare const file_cloudcockpit_v1_reseller: GenFile;
/**
 * A reseller of the CloudCockpit partner platform (a Microsoft CSP indirect
 * reseller, or a reseller of another provider), as returned by the upstream
 * operation `GET /v1/Resellers/{resellerId}`.
 *
 * Field names are the upstream's attribute names in snake_case, so the JSON
 * names (lowerCamelCase) match the upstream's. Every attribute that the
 * upstream documents as "string | null" is a proto3 `optional` field: an
 * absent field means the upstream sent null (or nothing), while an empty
 * string means the upstream sent "".
 *
 * @generated from message cloudcockpit.v1.Reseller
 */
export type Reseller = Message<"cloudcockpit.v1.Reseller"> & {
    /**
     * The reseller id, a UUID (for example
     * `11111111-1111-4111-8111-111111111111`), as the upstream sent it: the
     * same GUID as the one asked for, but its letters may be in another case
     * than the request's, so compare ids as GUIDs, not as strings.
     *
     * @generated from field: string id = 1;
     */
    id: string;
    /**
     * The name of the company associated to the reseller. Up to 255
     * characters. Absent when the upstream sent null.
     *
     * @generated from field: optional string company_name = 2;
     */
    companyName?: string | undefined;
    /**
     * The company country, an ISO 3166-1 alpha-2 code (for example `PT`).
     * Absent when the upstream sent null.
     *
     * @generated from field: optional string country = 3;
     */
    country?: string | undefined;
    /**
     * The company address line 1. Up to 255 characters. Absent when the
     * upstream sent null.
     *
     * @generated from field: optional string address_line1 = 4;
     */
    addressLine1?: string | undefined;
    /**
     * The company address line 2. Up to 255 characters. Absent when the
     * upstream sent null.
     *
     * @generated from field: optional string address_line2 = 5;
     */
    addressLine2?: string | undefined;
    /**
     * The company city. Up to 255 characters. Absent when the upstream sent
     * null.
     *
     * @generated from field: optional string city = 6;
     */
    city?: string | undefined;
    /**
     * The company state. Up to 255 characters. Absent when the upstream sent
     * null.
     *
     * @generated from field: optional string state = 7;
     */
    state?: string | undefined;
    /**
     * The company ZIP code, valid for the company country. Up to 30
     * characters. Absent when the upstream sent null.
     *
     * @generated from field: optional string zip_code = 8;
     */
    zipCode?: string | undefined;
    /**
     * The first name of the company's primary contact. Up to 255 characters.
     * Absent when the upstream sent null.
     *
     * @generated from field: optional string first_name = 9;
     */
    firstName?: string | undefined;
    /**
     * The last name of the company's primary contact. Up to 255 characters.
     * Absent when the upstream sent null.
     *
     * @generated from field: optional string last_name = 10;
     */
    lastName?: string | undefined;
    /**
     * The email of the company's primary contact. Up to 255 characters.
     * Absent when the upstream sent null.
     *
     * @generated from field: optional string email = 11;
     */
    email?: string | undefined;
    /**
     * The phone of the company's primary contact, valid for the company
     * country. Up to 30 characters. Absent when the upstream sent null.
     *
     * @generated from field: optional string phone = 12;
     */
    phone?: string | undefined;
    /**
     * The company's internal identifier. Up to 255 characters. Absent when the
     * upstream sent null.
     *
     * @generated from field: optional string internal_identifier = 13;
     */
    internalIdentifier?: string | undefined;
    /**
     * The tax id of the company. Up to 255 characters. Absent when the upstream
     * sent null.
     *
     * @generated from field: optional string tax_id = 14;
     */
    taxId?: string | undefined;
    /**
     * The provider resellers: this reseller's association with each provider
     * instance it belongs to. The upstream's null and [] both become an empty
     * list.
     *
     * @generated from field: repeated cloudcockpit.v1.ProviderReseller provider_resellers = 15;
     */
    providerResellers: ProviderReseller[];
    /**
     * The reseller's custom portal domain. Absent when the upstream sent null.
     *
     * @generated from field: cloudcockpit.v1.CustomDomain custom_domain = 16;
     */
    customDomain?: CustomDomain | undefined;
};
/**
 * Describes the message cloudcockpit.v1.Reseller.
 * Use `create(ResellerSchema)` to create a new message.
 */
export declare const ResellerSchema: GenMessage<Reseller>;
/**
 * The association of a reseller with one provider instance (for example a
 * Microsoft CSP Tier 1 or Tier 2 environment, or a generic provider).
 *
 * @generated from message cloudcockpit.v1.ProviderReseller
 */
export type ProviderReseller = Message<"cloudcockpit.v1.ProviderReseller"> & {
    /**
     * The id of the provider instance the reseller is associated to, a UUID,
     * as the upstream sent it (its letters may be upper case: compare ids as
     * GUIDs, not as strings). Always set by the upstream.
     *
     * @generated from field: string provider_instance_id = 1;
     */
    providerInstanceId: string;
    /**
     * The price margin applied to this reseller on this provider instance.
     *
     * @generated from field: cloudcockpit.v1.PriceMargin price_margin = 2;
     */
    priceMargin?: PriceMargin | undefined;
    /**
     * Price margins per offer type, keyed by the upstream's offer type name
     * (casing kept, for example `License` or `Azure`). A margin for an offer
     * type overrides `price_margin` for that offer type; an offer type without
     * its own margin is not in the map. The upstream's null and {} both become
     * an empty map.
     *
     * @generated from field: map<string, cloudcockpit.v1.PriceMargin> offer_type_margins = 3;
     */
    offerTypeMargins: {
        [key: string]: PriceMargin;
    };
    /**
     * The id the reseller has on the provider instance. For a Microsoft Tier 2
     * provider instance this is the reseller's primary MPN id, used for new
     * subscription purchases. It is not passed when a Microsoft Tier 1 or
     * generic provider instance is added to a reseller, so it is usually
     * absent there; its presence does not tell the tier. Absent when the
     * upstream sent null.
     *
     * @generated from field: optional string provider_reseller_id = 4;
     */
    providerResellerId?: string | undefined;
    /**
     * The upstream's `resellerProviderData` exactly as sent: a JSON document in
     * a string with provider specific data. `{}` for Microsoft Tier 1
     * resellers; `{"IndirectResellerId": string, "SecondaryMpnIds": string[]}`
     * for Microsoft Tier 2 resellers. Absent when the upstream sent null.
     *
     * @generated from field: optional string reseller_provider_data = 5;
     */
    resellerProviderData?: string | undefined;
    /**
     * The status of this association.
     *
     * @generated from field: cloudcockpit.v1.ProviderResellerStatus status = 6;
     */
    status: ProviderResellerStatus;
    /**
     * The Microsoft Tier 2 data parsed out of `reseller_provider_data`. Set
     * when `reseller_provider_data` holds a JSON object (so also for `{}`,
     * where both fields are empty); absent when it is null or does not parse,
     * and when the provider data strings of the answer hold more than 10,000
     * commas in all (this one and those after it are then not parsed).
     * The raw string stays in `reseller_provider_data` either way.
     *
     * @generated from field: cloudcockpit.v1.ProviderData provider_data = 7;
     */
    providerData?: ProviderData | undefined;
};
/**
 * Describes the message cloudcockpit.v1.ProviderReseller.
 * Use `create(ProviderResellerSchema)` to create a new message.
 */
export declare const ProviderResellerSchema: GenMessage<ProviderReseller>;
/**
 * Provider specific reseller data, parsed out of the upstream's
 * `resellerProviderData` JSON string. Its fields are filled for Microsoft
 * Tier 2 provider instances; for Tier 1 (`{}`) the message is present with
 * both fields empty, so its presence does not tell the tier.
 *
 * @generated from message cloudcockpit.v1.ProviderData
 */
export type ProviderData = Message<"cloudcockpit.v1.ProviderData"> & {
    /**
     * The id of the indirect reseller on the Microsoft Tier 2 provider
     * instance, a UUID. Absent when the upstream's value is null or missing.
     *
     * @generated from field: optional string indirect_reseller_id = 1;
     */
    indirectResellerId?: string | undefined;
    /**
     * The reseller's secondary MPN ids (numeric strings such as `123456`).
     *
     * @generated from field: repeated string secondary_mpn_ids = 2;
     */
    secondaryMpnIds: string[];
};
/**
 * Describes the message cloudcockpit.v1.ProviderData.
 * Use `create(ProviderDataSchema)` to create a new message.
 */
export declare const ProviderDataSchema: GenMessage<ProviderData>;
/**
 * A price margin: a rule and the value it applies.
 *
 * @generated from message cloudcockpit.v1.PriceMargin
 */
export type PriceMargin = Message<"cloudcockpit.v1.PriceMargin"> & {
    /**
     * The margin rule applied.
     *
     * @generated from field: cloudcockpit.v1.MarginRule margin_rule = 1;
     */
    marginRule: MarginRule;
    /**
     * The value applied by the rule, between 0 and 999. Absent when the
     * upstream sent null; 0 is a real value.
     *
     * @generated from field: optional double value = 2;
     */
    value?: number | undefined;
};
/**
 * Describes the message cloudcockpit.v1.PriceMargin.
 * Use `create(PriceMarginSchema)` to create a new message.
 */
export declare const PriceMarginSchema: GenMessage<PriceMargin>;
/**
 * A custom portal domain of a reseller.
 *
 * @generated from message cloudcockpit.v1.CustomDomain
 */
export type CustomDomain = Message<"cloudcockpit.v1.CustomDomain"> & {
    /**
     * The custom domain, for example `cloud.contoso.example`. Absent when the
     * upstream sent null.
     *
     * @generated from field: optional string custom_domain = 1;
     */
    customDomain?: string | undefined;
    /**
     * The domain's status name as the upstream sends it (for example
     * `Active`); the upstream does not document its values. Absent when the
     * upstream sent no status.
     *
     * @generated from field: optional string status = 2;
     */
    status?: string | undefined;
};
/**
 * Describes the message cloudcockpit.v1.CustomDomain.
 * Use `create(CustomDomainSchema)` to create a new message.
 */
export declare const CustomDomainSchema: GenMessage<CustomDomain>;
/**
 * The rule a price margin applies. The upstream sends it as
 * `{"name": "Markup"}` (any casing).
 *
 * @generated from enum cloudcockpit.v1.MarginRule
 */
export declare enum MarginRule {
    /**
     * The upstream sent no rule, or one this version does not know.
     *
     * @generated from enum value: MARGIN_RULE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * `Markup`: the value is a markup over cost.
     *
     * @generated from enum value: MARGIN_RULE_MARKUP = 1;
     */
    MARKUP = 1,
    /**
     * `Margin`: the value is a margin on the sale price.
     *
     * @generated from enum value: MARGIN_RULE_MARGIN = 2;
     */
    MARGIN = 2,
    /**
     * `SplitMargin`: the margin is split between provider and reseller.
     *
     * @generated from enum value: MARGIN_RULE_SPLIT_MARGIN = 3;
     */
    SPLIT_MARGIN = 3,
    /**
     * `ErpMinusDiscount`: the ERP price minus a discount.
     *
     * @generated from enum value: MARGIN_RULE_ERP_MINUS_DISCOUNT = 4;
     */
    ERP_MINUS_DISCOUNT = 4
}
/**
 * Describes the enum cloudcockpit.v1.MarginRule.
 */
export declare const MarginRuleSchema: GenEnum<MarginRule>;
/**
 * The status of a reseller's association with a provider instance. The
 * upstream sends it as `{"name": "Success"}` (any casing).
 *
 * @generated from enum cloudcockpit.v1.ProviderResellerStatus
 */
export declare enum ProviderResellerStatus {
    /**
     * The upstream sent no status, or one this version does not know.
     *
     * @generated from enum value: PROVIDER_RESELLER_STATUS_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * `Processing`: the association is being set up on the provider.
     *
     * @generated from enum value: PROVIDER_RESELLER_STATUS_PROCESSING = 1;
     */
    PROCESSING = 1,
    /**
     * `Success`: the association is established.
     *
     * @generated from enum value: PROVIDER_RESELLER_STATUS_SUCCESS = 2;
     */
    SUCCESS = 2,
    /**
     * `Failed`: setting up the association failed.
     *
     * @generated from enum value: PROVIDER_RESELLER_STATUS_FAILED = 3;
     */
    FAILED = 3
}
/**
 * Describes the enum cloudcockpit.v1.ProviderResellerStatus.
 */
export declare const ProviderResellerStatusSchema: GenEnum<ProviderResellerStatus>;
