// Decoding of the google.rpc details that every error of the facade carries
// (docs/errors.md), over every transport Connect-ES speaks: gRPC
// (@connectrpc/connect-node), Connect and gRPC-Web (@connectrpc/connect-web).

import { ConnectError, type Code } from "@connectrpc/connect";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RequestInfoSchema,
  ResourceInfoSchema,
  RetryInfoSchema,
  type BadRequest,
  type ErrorInfo,
  type RequestInfo,
  type ResourceInfo,
  type RetryInfo,
} from "./gen/google/rpc/error_details_pb.js";

/**
 * A failed call with its google.rpc details decoded. The facade sends one
 * ErrorInfo (domain "cloudcockpit-facade") and one RequestInfo with every
 * error, and BadRequest, ResourceInfo and RetryInfo where they apply; a detail
 * the error does not carry (any, for an error that did not come from the
 * facade, such as a refused connection) is undefined.
 */
export interface ErrorDetails {
  /** The error as a ConnectError: code, rawMessage, metadata (headers and trailers). */
  readonly error: ConnectError;
  /** The status code (Code.NotFound, Code.InvalidArgument, ...). */
  readonly code: Code;
  /** ErrorInfo.reason (INVALID_REQUEST, UPSTREAM_NOT_FOUND, ...); "" without ErrorInfo. */
  readonly reason: string;
  /** RequestInfo.requestId: the call's correlation id; "" without RequestInfo. */
  readonly correlationId: string;
  /** RetryInfo.retryDelay in milliseconds; undefined without RetryInfo. */
  readonly retryDelayMs?: number;
  readonly errorInfo?: ErrorInfo;
  readonly requestInfo?: RequestInfo;
  /** Every violation (field and description) of an INVALID_ARGUMENT. */
  readonly badRequest?: BadRequest;
  /** The resource of a NOT_FOUND (GetReseller). */
  readonly resourceInfo?: ResourceInfo;
  readonly retryInfo?: RetryInfo;
}

/**
 * errorDetails decodes the details of what a call threw (any value:
 * ConnectError.from converts it) into an ErrorDetails.
 */
export function errorDetails(reason: unknown): ErrorDetails {
  const error = ConnectError.from(reason);
  const first = <Desc extends DescMessage>(desc: Desc): MessageShape<Desc> | undefined =>
    error.findDetails(desc)[0];
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
