import type { GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file cloudcockpit/v1/customer_service.proto.
 */
export declare const file_cloudcockpit_v1_customer_service: GenFile;
/**
 * The request of CustomerService.GetAcceptanceLink.
 *
 * @generated from message cloudcockpit.v1.GetAcceptanceLinkRequest
 */
export type GetAcceptanceLinkRequest = Message<"cloudcockpit.v1.GetAcceptanceLinkRequest"> & {
    /**
     * The provider instance id, a UUID (upstream query parameter
     * `providerInstanceId`). Required.
     *
     * @generated from field: string provider_instance_id = 1;
     */
    providerInstanceId: string;
    /**
     * The reseller id, a UUID (upstream query parameter `resellerId`). When
     * set, the link establishes a relationship between the customer and this
     * reseller. When absent, the upstream fills in the caller's own reseller
     * id if the caller has the reseller role; for a csp caller the
     * relationship is then between the customer and the CSP. Leave it out
     * rather than send it empty (an empty value is INVALID_ARGUMENT).
     *
     * @generated from field: optional string reseller_id = 2;
     */
    resellerId?: string | undefined;
};
/**
 * Describes the message cloudcockpit.v1.GetAcceptanceLinkRequest.
 * Use `create(GetAcceptanceLinkRequestSchema)` to create a new message.
 */
export declare const GetAcceptanceLinkRequestSchema: GenMessage<GetAcceptanceLinkRequest>;
/**
 * The response of CustomerService.GetAcceptanceLink.
 *
 * @generated from message cloudcockpit.v1.GetAcceptanceLinkResponse
 */
export type GetAcceptanceLinkResponse = Message<"cloudcockpit.v1.GetAcceptanceLinkResponse"> & {
    /**
     * The absolute http(s) URL the customer opens to accept the relationship,
     * exactly as the upstream sent it, for example a Microsoft admin center
     * invitation link
     * (`https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=...`).
     *
     * @generated from field: string url = 1;
     */
    url: string;
};
/**
 * Describes the message cloudcockpit.v1.GetAcceptanceLinkResponse.
 * Use `create(GetAcceptanceLinkResponseSchema)` to create a new message.
 */
export declare const GetAcceptanceLinkResponseSchema: GenMessage<GetAcceptanceLinkResponse>;
/**
 * Works with customers of the CloudCockpit partner platform.
 *
 * Every call needs the metadata `authorization` (`Bearer <JWT>`, forwarded
 * unchanged to the upstream) and `x-tenant` (the portal domain of the tenant;
 * optional when the server has a default tenant). `x-correlation-id` (a
 * UUID) is optional: one is generated when absent, sent upstream, and
 * returned in the response header metadata.
 *
 * @generated from service cloudcockpit.v1.CustomerService
 */
export declare const CustomerService: GenService<{
    /**
     * Gets a link that a customer opens to accept a relationship (upstream:
     * `GET /v1/Customers/relationship-acceptance`). With `reseller_id` the
     * relationship is between the customer and that reseller; without it,
     * between the customer and the CSP. Available to the upstream roles csp and
     * reseller; for a reseller caller the upstream fills in its own reseller id.
     *
     * Over REST the response body is the bare JSON string, as the upstream
     * sends it.
     *
     * @generated from rpc cloudcockpit.v1.CustomerService.GetAcceptanceLink
     */
    getAcceptanceLink: {
        methodKind: "unary";
        input: typeof GetAcceptanceLinkRequestSchema;
        output: typeof GetAcceptanceLinkResponseSchema;
    };
}>;
