// The browser side of `make browser`: bundled by esbuild into app.js and
// loaded by index.html, served from another origin than the facade. It
// exposes one function per kind of caller on window; browser.test.mjs calls
// them through headless Chromium and checks what they return.
//
// Each function reads one reseller (the ...GetAcceptanceLink ones, given a
// provider instance id, an acceptance link: url instead of companyName) and
// returns a plain object:
//   { ok: true, companyName, correlationId }                 on success
//   { ok: false, code, reason, requestId, resourceName,
//     detailTypes, correlationId }                          on an error
// where code is the gRPC code name (NOT_FOUND), reason the ErrorInfo reason,
// requestId the RequestInfo's and resourceName the ResourceInfo's.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { GrpcWebClientBase, MethodDescriptor } from "grpc-web";

// The npm package of clients/ts, installed from its path (package.json).
import {
  GetAcceptanceLinkRequestSchema,
  GetAcceptanceLinkResponseSchema,
  GetResellerRequestSchema,
  ResellerSchema,
  ResellerService,
  errorDetails,
} from "@cloudcockpit/facade-client";
import { ErrorInfoSchema, RequestInfoSchema, ResourceInfoSchema } from "@cloudcockpit/facade-client/gen/google/rpc/error_details_pb";
import { StatusSchema } from "@cloudcockpit/facade-client/gen/google/rpc/status_pb";

const token = "sandbox-token";
const tenant = "portal.cloudcockpit.com";

// headers are the API's request headers, the same for every kind of caller.
function headers(correlationId) {
  return {
    Authorization: `Bearer ${token}`,
    "X-Tenant": tenant,
    "X-Correlation-Id": correlationId,
  };
}

// codeName spells a Connect code as gRPC does (NotFound -> NOT_FOUND).
function codeName(code) {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

// REST mirror: fetch with the API's headers; the error body is a
// google.rpc.Status in JSON.
window.restGetReseller = async (api, id, correlationId) => {
  const resp = await fetch(`${api}/v1/Resellers/${encodeURIComponent(id)}`, {
    headers: headers(correlationId),
  });
  const body = await resp.json();
  const cid = resp.headers.get("X-Correlation-Id");
  if (resp.ok) {
    return { ok: true, status: resp.status, companyName: body.companyName, correlationId: cid };
  }
  const detail = (type) => (body.details || []).find((d) => d["@type"] === `type.googleapis.com/google.rpc.${type}`) || {};
  return {
    ok: false,
    status: resp.status,
    code: codeName(body.code),
    reason: detail("ErrorInfo").reason,
    requestId: detail("RequestInfo").requestId,
    resourceName: detail("ResourceInfo").resourceName,
    detailTypes: (body.details || []).map((d) => d["@type"].replace("type.googleapis.com/", "")).sort(),
    correlationId: cid,
  };
};

// rpcGetReseller calls GetReseller through transport with
// @connectrpc/connect's client and decodes the error details with the
// package's errorDetails.
async function rpcGetReseller(transport, id, correlationId) {
  const client = createClient(ResellerService, transport);
  let cid = null;
  const onHeader = (h) => {
    cid = h.get("X-Correlation-Id");
  };
  try {
    const reseller = await client.getReseller({ resellerId: id }, { headers: headers(correlationId), onHeader });
    return { ok: true, companyName: reseller.companyName, correlationId: cid };
  } catch (e) {
    const d = errorDetails(e);
    const err = d.error;
    return {
      ok: false,
      code: codeName(d.code),
      message: err.rawMessage,
      reason: d.errorInfo?.reason,
      requestId: d.requestInfo?.requestId,
      resourceName: d.resourceInfo?.resourceName,
      detailTypes: err.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)).sort(),
      correlationId: cid ?? err.metadata.get("X-Correlation-Id"),
    };
  }
}

// Connect protocol (JSON), as @connectrpc/connect-web sends it by default.
window.connectGetReseller = (api, id, correlationId) =>
  rpcGetReseller(createConnectTransport({ baseUrl: api }), id, correlationId);

// Connect's GET form (GetReseller declares NO_SIDE_EFFECTS), as connect-web's
// useHttpGet sends it; httpMethod is the method fetch was called with.
window.connectHttpGetGetReseller = async (api, id, correlationId) => {
  let httpMethod = null;
  const transport = createConnectTransport({
    baseUrl: api,
    useHttpGet: true,
    fetch: (input, init) => {
      httpMethod = init?.method;
      return fetch(input, init);
    },
  });
  return { ...(await rpcGetReseller(transport, id, correlationId)), httpMethod };
};

// gRPC-Web (binary), with connect-web's gRPC-Web transport.
window.grpcWebGetReseller = (api, id, correlationId) =>
  rpcGetReseller(createGrpcWebTransport({ baseUrl: api }), id, correlationId);

// gRPC-Web with the official grpc-web runtime, its messages serialized by
// protobuf-es, in either format protoc-gen-grpc-web generates for:
// "binary" (mode=grpcweb, application/grpc-web+proto) or "text"
// (mode=grpcwebtext, its default: application/grpc-web-text, base64
// bodies). (That the in-body trailer names are lower-case, as the gRPC-Web
// spec writes them, is checked on the bytes by the Go test TestGRPCWeb.)
const getResellerMethod = new MethodDescriptor(
  "/cloudcockpit.v1.ResellerService/GetReseller",
  "unary",
  Object,
  Object,
  (req) => toBinary(GetResellerRequestSchema, req),
  (bytes) => fromBinary(ResellerSchema, bytes),
);
const getAcceptanceLinkMethod = new MethodDescriptor(
  "/cloudcockpit.v1.CustomerService/GetAcceptanceLink",
  "unary",
  Object,
  Object,
  (req) => toBinary(GetAcceptanceLinkRequestSchema, req),
  (bytes) => fromBinary(GetAcceptanceLinkResponseSchema, bytes),
);

// officialCall calls method with request in format and resolves with
// { ok: true, reply, correlationId, status } or the error object above.
const officialCall = (api, format, method, request, correlationId) =>
  new Promise((resolve) => {
    const client = new GrpcWebClientBase({ format });
    let cid = null;
    let status = null; // the code of the "status" event, from the trailers
    const call = client.rpcCall(
      `${api}${method.getName()}`,
      request,
      { authorization: `Bearer ${token}`, "x-tenant": tenant, "x-correlation-id": correlationId },
      method,
      (err, reply) => {
        if (!err) {
          // The status event comes after the message: wait for it.
          setTimeout(() => resolve({ ok: true, reply, correlationId: cid, status }), 100);
          return;
        }
        // The details are a google.rpc.Status in grpc-status-details-bin.
        const bin = err.metadata?.["grpc-status-details-bin"];
        const details = bin ? fromBinary(StatusSchema, base64Decode(bin)).details : [];
        const find = (schema) => details.filter((a) => anyIs(a, schema)).map((a) => anyUnpack(a, schema))[0];
        resolve({
          ok: false,
          code: codeName(err.code),
          message: err.message,
          reason: find(ErrorInfoSchema)?.reason,
          requestId: find(RequestInfoSchema)?.requestId,
          resourceName: find(ResourceInfoSchema)?.resourceName,
          detailTypes: details.map((a) => a.typeUrl.replace("type.googleapis.com/", "")).sort(),
          correlationId: cid,
        });
      },
    );
    call.on("metadata", (md) => {
      cid = md["x-correlation-id"] ?? null;
    });
    call.on("status", (st) => {
      status = st.code;
    });
  });

// withField moves one field of a successful reply to the result.
const withField = (got, name) => {
  if (!got.ok) return got;
  const { reply, ...rest } = got;
  return { ...rest, [name]: reply[name] };
};

for (const [suffix, format] of [["", "binary"], ["Text", "text"]]) {
  window[`grpcWeb${suffix}OfficialGetReseller`] = async (api, id, correlationId) =>
    withField(await officialCall(api, format, getResellerMethod, create(GetResellerRequestSchema, { resellerId: id }), correlationId), "companyName");
  // id is the provider instance id.
  window[`grpcWeb${suffix}OfficialGetAcceptanceLink`] = async (api, id, correlationId) =>
    withField(await officialCall(api, format, getAcceptanceLinkMethod, create(GetAcceptanceLinkRequestSchema, { providerInstanceId: id }), correlationId), "url");
}

window.pageReady = true;
