// Decoding of the google.rpc details that every error of the facade carries
// (docs/errors.md), over every transport Connect-ES speaks: gRPC
// (@connectrpc/connect-node), Connect and gRPC-Web (@connectrpc/connect-web).
import { ConnectError } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { BadRequestSchema, ErrorInfoSchema, RequestInfoSchema, ResourceInfoSchema, RetryInfoSchema, } from "./gen/google/rpc/error_details_pb.js";
/**
 * errorDetails decodes the details of what a call threw (any value:
 * ConnectError.from converts it) into an ErrorDetails.
 */
export function errorDetails(reason) {
    const error = ConnectError.from(reason);
    const first = (desc) => error.findDetails(desc)[0];
    const errorInfo = first(ErrorInfoSchema);
    const requestInfo = first(RequestInfoSchema);
    const retryInfo = first(RetryInfoSchema);
    return {
        error,
        code: error.code,
        reason: errorInfo?.reason ?? "",
        correlationId: requestInfo?.requestId ?? "",
        retryDelayMs: retryInfo?.retryDelay && durationMs(retryInfo.retryDelay),
        errorInfo,
        requestInfo,
        badRequest: first(BadRequestSchema),
        resourceInfo: first(ResourceInfoSchema),
        retryInfo,
    };
}
