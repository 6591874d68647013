import type { GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import type { ResellerSchema } from "./reseller_pb.js";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file cloudcockpit/v1/reseller_service.proto.
 */
export declare const file_cloudcockpit_v1_reseller_service: GenFile;
/**
 * The request of ResellerService.GetReseller.
 *
 * @generated from message cloudcockpit.v1.GetResellerRequest
 */
export type GetResellerRequest = Message<"cloudcockpit.v1.GetResellerRequest"> & {
    /**
     * The reseller id, a UUID such as `11111111-1111-4111-8111-111111111111`.
     * Required.
     *
     * @generated from field: string reseller_id = 1;
     */
    resellerId: string;
};
/**
 * Describes the message cloudcockpit.v1.GetResellerRequest.
 * Use `create(GetResellerRequestSchema)` to create a new message.
 */
export declare const GetResellerRequestSchema: GenMessage<GetResellerRequest>;
/**
 * Reads resellers of the CloudCockpit partner platform.
 *
 * Every call needs the metadata `authorization` (`Bearer <JWT>`, forwarded
 * unchanged to the upstream) and `x-tenant` (the portal domain of the tenant,
 * for example `portal.cloudcockpit.com`; optional when the server has a
 * default tenant). `x-correlation-id` (a UUID) is optional: one is generated
 * when absent, sent upstream, and returned in the response header metadata.
 * Errors carry `google.rpc.ErrorInfo` and `google.rpc.RequestInfo` details,
 * and `google.rpc.BadRequest` for invalid arguments.
 *
 * @generated from service cloudcockpit.v1.ResellerService
 */
export declare const ResellerService: GenService<{
    /**
     * Retrieves the reseller with the given id (upstream:
     * `GET /v1/Resellers/{resellerId}`). Available to the upstream roles csp and
     * reseller.
     *
     * Errors: INVALID_ARGUMENT for a malformed id or tenant, UNAUTHENTICATED
     * without a bearer token or when the upstream rejects it,
     * PERMISSION_DENIED when the caller's role may not read it, NOT_FOUND
     * when the reseller does not exist, UNAVAILABLE when the upstream cannot
     * be reached.
     *
     * @generated from rpc cloudcockpit.v1.ResellerService.GetReseller
     */
    getReseller: {
        methodKind: "unary";
        input: typeof GetResellerRequestSchema;
        output: typeof ResellerSchema;
    };
}>;
