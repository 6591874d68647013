#!/usr/bin/python3
"""Interop checks: the facade called from Python as a Python service would.

Uses Debian's python3-grpcio and python3-protobuf, with code that interop/run.sh
generates at test time (protoc + grpc_python_plugin) from proto/ and from
google/rpc/{status,error_details}.proto into the directory given by --gen.
Prints one "ok - ..." or "not ok - ..." line per check; exits 1 if any failed.

    /usr/bin/python3 interop/python/client.py --addr 127.0.0.1:9090 --gen build/interop/python
"""

import argparse
import sys
import traceback
import uuid

RESELLER_ID = "11111111-1111-4111-8111-111111111111"
UNKNOWN_RESELLER_ID = "99999999-9999-4999-8999-999999999999"
PROVIDER_INSTANCE_ID = "cb3cd15b-1d6e-45be-b493-c71549cbfd87"
DOMAIN = "cloudcockpit-facade"

failures = 0


def check(name, fn):
    """Runs one check: fn raises (AssertionError or anything else) to fail it."""
    global failures
    try:
        fn()
        print(f"ok - python: {name}", flush=True)
    except Exception as exc:  # any exception fails only this check
        failures += 1
        print(f"not ok - python: {name}: {type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc(file=sys.stderr)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True, help="gRPC address host:port")
    ap.add_argument("--gen", required=True, help="directory of the generated Python code")
    args = ap.parse_args()
    sys.path.insert(0, args.gen)

    import grpc
    from cloudcockpit.v1 import customer_service_pb2, customer_service_pb2_grpc
    from cloudcockpit.v1 import reseller_service_pb2, reseller_service_pb2_grpc
    from google.rpc import error_details_pb2, status_pb2

    def metadata(correlation_id=None, tenant="portal.cloudcockpit.com"):
        md = [("authorization", "Bearer sandbox-token"), ("x-tenant", tenant)]
        if correlation_id:
            md.append(("x-correlation-id", correlation_id))
        return md

    def header(call, key):
        values = [v for k, v in (call.initial_metadata() or ()) if k == key]
        expect(len(values) == 1, f"want one {key} in the initial metadata, got {values}")
        return values[0]

    def rich_status(err):
        """Decodes the grpc-status-details-bin trailer into a google.rpc.Status."""
        raw = [v for k, v in (err.trailing_metadata() or ()) if k == "grpc-status-details-bin"]
        expect(len(raw) == 1, "want one grpc-status-details-bin trailer")
        st = status_pb2.Status.FromString(raw[0])
        expect(st.code == err.code().value[0], f"Status.code {st.code} != {err.code()}")
        expect(st.message == err.details(), f"Status.message {st.message!r} != {err.details()!r}")
        return st

    def details(st):
        """Unpacks every Any in st.details into its google.rpc message, by type."""
        out = {}
        for any_ in st.details:
            for cls in (error_details_pb2.ErrorInfo, error_details_pb2.RequestInfo,
                        error_details_pb2.BadRequest, error_details_pb2.ResourceInfo,
                        error_details_pb2.RetryInfo):
                if any_.Is(cls.DESCRIPTOR):
                    msg = cls()
                    any_.Unpack(msg)
                    expect(cls.__name__ not in out, f"{cls.__name__} twice")
                    out[cls.__name__] = msg
                    break
            else:
                raise AssertionError(f"unknown detail type {any_.type_url}")
        return out

    def call_error(fn, request, md):
        try:
            fn(request, metadata=md, timeout=10)
        except grpc.RpcError as err:
            return err
        raise AssertionError("the call succeeded; want an error")

    channel = grpc.insecure_channel(args.addr)
    grpc.channel_ready_future(channel).result(timeout=10)
    resellers = reseller_service_pb2_grpc.ResellerServiceStub(channel)
    customers = customer_service_pb2_grpc.CustomerServiceStub(channel)

    def get_reseller():
        cid = str(uuid.uuid4())
        reseller, call = resellers.GetReseller.with_call(
            reseller_service_pb2.GetResellerRequest(reseller_id=RESELLER_ID),
            metadata=metadata(cid), timeout=10)
        expect(reseller.id == RESELLER_ID, f"id {reseller.id}")
        expect(reseller.HasField("company_name") and reseller.company_name, "company_name not set")
        expect(reseller.country == "PT", f"country {reseller.country!r}")
        expect(len(reseller.provider_resellers) >= 1, "no provider resellers")
        expect(header(call, "x-correlation-id") == cid, "x-correlation-id not echoed")
    check("GetReseller with metadata; x-correlation-id echoed in initial metadata", get_reseller)

    def generated_correlation_id():
        _, call = resellers.GetReseller.with_call(
            reseller_service_pb2.GetResellerRequest(reseller_id=RESELLER_ID),
            metadata=metadata(), timeout=10)
        uuid.UUID(header(call, "x-correlation-id"))
    check("GetReseller without x-correlation-id gets a generated UUID", generated_correlation_id)

    def get_acceptance_link():
        cid = str(uuid.uuid4())
        resp, call = customers.GetAcceptanceLink.with_call(
            customer_service_pb2.GetAcceptanceLinkRequest(
                provider_instance_id=PROVIDER_INSTANCE_ID, reseller_id=RESELLER_ID),
            metadata=metadata(cid), timeout=10)
        expect(resp.url.startswith("https://admin.microsoft.com/"), f"url {resp.url!r}")
        expect("invType=IndirectResellerRelationship" in resp.url, f"url {resp.url!r}")
        expect(header(call, "x-correlation-id") == cid, "x-correlation-id not echoed")
    check("GetAcceptanceLink with metadata; correlation id echoed", get_acceptance_link)

    def not_found():
        cid = str(uuid.uuid4())
        err = call_error(resellers.GetReseller,
                         reseller_service_pb2.GetResellerRequest(reseller_id=UNKNOWN_RESELLER_ID),
                         metadata(cid))
        expect(err.code() == grpc.StatusCode.NOT_FOUND, f"code {err.code()}")
        expect(header(err, "x-correlation-id") == cid, "x-correlation-id not in the error's initial metadata")
        d = details(rich_status(err))
        info = d["ErrorInfo"]
        expect(info.reason == "UPSTREAM_NOT_FOUND", f"reason {info.reason}")
        expect(info.domain == DOMAIN, f"domain {info.domain}")
        expect(info.metadata["correlationId"] == cid, f"metadata {dict(info.metadata)}")
        expect(info.metadata["upstreamHttpStatus"] == "404", f"metadata {dict(info.metadata)}")
        expect(d["RequestInfo"].request_id == cid, f"request_id {d['RequestInfo'].request_id}")
        res = d["ResourceInfo"]
        expect(res.resource_type == "cloudcockpit.v1.Reseller", f"resource_type {res.resource_type}")
        expect(res.resource_name == UNKNOWN_RESELLER_ID, f"resource_name {res.resource_name}")
    check("GetReseller NOT_FOUND: ErrorInfo, RequestInfo, ResourceInfo decoded from grpc-status-details-bin", not_found)

    def invalid_argument():
        cid = str(uuid.uuid4())
        err = call_error(resellers.GetReseller,
                         reseller_service_pb2.GetResellerRequest(reseller_id="not-a-uuid"),
                         metadata(cid, tenant="not a domain"))
        expect(err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"code {err.code()}")
        d = details(rich_status(err))
        expect(d["ErrorInfo"].reason == "INVALID_REQUEST", f"reason {d['ErrorInfo'].reason}")
        expect(d["ErrorInfo"].domain == DOMAIN, f"domain {d['ErrorInfo'].domain}")
        expect(d["RequestInfo"].request_id == cid, "request_id")
        fields = sorted(v.field for v in d["BadRequest"].field_violations)
        expect(fields == ["reseller_id", "x-tenant"], f"violations on {fields}")
        expect(all(v.description for v in d["BadRequest"].field_violations), "empty description")
    check("GetReseller INVALID_ARGUMENT: BadRequest lists reseller_id and x-tenant", invalid_argument)

    def link_invalid_argument():
        err = call_error(customers.GetAcceptanceLink,
                         customer_service_pb2.GetAcceptanceLinkRequest(provider_instance_id=""),
                         metadata())
        expect(err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"code {err.code()}")
        fields = [v.field for v in details(rich_status(err))["BadRequest"].field_violations]
        expect(fields == ["provider_instance_id"], f"violations on {fields}")
    check("GetAcceptanceLink INVALID_ARGUMENT without provider_instance_id", link_invalid_argument)

    def unauthenticated():
        err = call_error(resellers.GetReseller,
                         reseller_service_pb2.GetResellerRequest(reseller_id=RESELLER_ID),
                         [("x-tenant", "portal.cloudcockpit.com")])
        expect(err.code() == grpc.StatusCode.UNAUTHENTICATED, f"code {err.code()}")
        expect(details(rich_status(err))["ErrorInfo"].reason == "MISSING_CREDENTIALS", "reason")
    check("GetReseller without authorization is UNAUTHENTICATED", unauthenticated)

    channel.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
