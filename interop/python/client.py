#!/usr/bin/python3
"""Interop checks: the facade called from Python as a Python service would.

Uses Debian's python3-grpcio and python3-protobuf, with the client package of
clients/python (generated code and cloudcockpit.errors), which interop/run.sh
installs with pip into the directory on PYTHONPATH.
Prints one "ok - ..." or "not ok - ..." line per check; exits 1 if any failed.

    PYTHONPATH=build/interop/pysite /usr/bin/python3 interop/python/client.py --addr 127.0.0.1:9090
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
    args = ap.parse_args()

    import grpc
    from cloudcockpit.v1 import customer_service_pb2, customer_service_pb2_grpc
    from cloudcockpit.v1 import reseller_service_pb2, reseller_service_pb2_grpc
    from cloudcockpit import errors

    def metadata(correlation_id=None, tenant="portal.cloudcockpit.com"):
        md = [("authorization", "Bearer sandbox-token"), ("x-tenant", tenant)]
        if correlation_id:
            md.append(("x-correlation-id", correlation_id))
        return md

    def header(call, key):
        values = [v for k, v in (call.initial_metadata() or ()) if k == key]
        expect(len(values) == 1, f"want one {key} in the initial metadata, got {values}")
        return values[0]

    def call_error(fn, request, md):
        """Calls fn, which must fail; returns the typed error of cloudcockpit.errors."""
        try:
            with errors.raised():
                fn(request, metadata=md, timeout=10)
        except errors.CallError as err:
            expect(isinstance(err.__cause__, grpc.RpcError), "not chained to the grpc.RpcError")
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
        expect(type(err) is errors.NotFound, f"{type(err).__name__}, want NotFound")
        expect(err.code == grpc.StatusCode.NOT_FOUND, f"code {err.code}")
        expect(err.message == err.__cause__.details(), f"message {err.message!r}")
        expect(header(err.__cause__, "x-correlation-id") == cid, "x-correlation-id not in the error's initial metadata")
        expect([type(d).__name__ for d in err.details] == ["ErrorInfo", "RequestInfo", "ResourceInfo"],
               f"details {[type(d).__name__ for d in err.details]}")
        expect(err.reason == "UPSTREAM_NOT_FOUND", f"reason {err.reason}")
        expect(err.error_info.domain == DOMAIN, f"domain {err.error_info.domain}")
        expect(err.error_info.metadata["correlationId"] == cid, f"metadata {dict(err.error_info.metadata)}")
        expect(err.error_info.metadata["upstreamHttpStatus"] == "404", f"metadata {dict(err.error_info.metadata)}")
        expect(err.correlation_id == cid, f"correlation_id {err.correlation_id}")
        expect(err.resource_info.resource_type == "cloudcockpit.v1.Reseller", f"resource_type {err.resource_info.resource_type}")
        expect(err.resource_info.resource_name == UNKNOWN_RESELLER_ID, f"resource_name {err.resource_info.resource_name}")
        expect(err.bad_request is None and err.retry_info is None and err.retry_delay is None, "unexpected details")
    check("GetReseller NOT_FOUND: errors.NotFound with ErrorInfo, RequestInfo, ResourceInfo decoded", not_found)

    def invalid_argument():
        cid = str(uuid.uuid4())
        err = call_error(resellers.GetReseller,
                         reseller_service_pb2.GetResellerRequest(reseller_id="not-a-uuid"),
                         metadata(cid, tenant="not a domain"))
        expect(type(err) is errors.InvalidArgument, f"{type(err).__name__}, want InvalidArgument")
        expect(err.reason == "INVALID_REQUEST", f"reason {err.reason}")
        expect(err.error_info.domain == DOMAIN, f"domain {err.error_info.domain}")
        expect(err.correlation_id == cid, "correlation_id")
        fields = sorted(v.field for v in err.bad_request.field_violations)
        expect(fields == ["reseller_id", "x-tenant"], f"violations on {fields}")
        expect(all(v.description for v in err.bad_request.field_violations), "empty description")
    check("GetReseller INVALID_ARGUMENT: errors.InvalidArgument, BadRequest lists reseller_id and x-tenant", invalid_argument)

    def link_invalid_argument():
        err = call_error(customers.GetAcceptanceLink,
                         customer_service_pb2.GetAcceptanceLinkRequest(provider_instance_id=""),
                         metadata())
        expect(type(err) is errors.InvalidArgument, f"{type(err).__name__}, want InvalidArgument")
        fields = [v.field for v in err.bad_request.field_violations]
        expect(fields == ["provider_instance_id"], f"violations on {fields}")
    check("GetAcceptanceLink INVALID_ARGUMENT without provider_instance_id", link_invalid_argument)

    def unauthenticated():
        err = call_error(resellers.GetReseller,
                         reseller_service_pb2.GetResellerRequest(reseller_id=RESELLER_ID),
                         [("x-tenant", "portal.cloudcockpit.com")])
        expect(type(err) is errors.Unauthenticated, f"{type(err).__name__}, want Unauthenticated")
        expect(err.reason == "MISSING_CREDENTIALS", f"reason {err.reason}")
    check("GetReseller without authorization is errors.Unauthenticated", unauthenticated)

    def unreachable():
        with grpc.insecure_channel("127.0.0.1:1") as closed:
            err = call_error(reseller_service_pb2_grpc.ResellerServiceStub(closed).GetReseller,
                             reseller_service_pb2.GetResellerRequest(reseller_id=RESELLER_ID), metadata())
        expect(type(err) is errors.Unavailable, f"{type(err).__name__}, want Unavailable")
        expect(err.details == [] and err.error_info is None and err.reason == "", f"details {err.details}")
    check("a refused connection is errors.Unavailable without details", unreachable)

    def retry_info():
        from google.protobuf import any_pb2
        from google.rpc import error_details_pb2, status_pb2
        st = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message="slow down")
        for msg in (error_details_pb2.ErrorInfo(reason="TOO_MANY_UPSTREAM_REQUESTS", domain=DOMAIN),
                    error_details_pb2.RetryInfo(retry_delay={"seconds": 2, "nanos": 500_000_000})):
            st.details.add().Pack(msg)
        st.details.append(any_pb2.Any(type_url="type.googleapis.com/example.Unknown", value=b"\x08\x01"))

        class Fake(grpc.RpcError):
            def code(self): return grpc.StatusCode.RESOURCE_EXHAUSTED
            def details(self): return st.message
            def trailing_metadata(self): return (("grpc-status-details-bin", st.SerializeToString()),)
        err = errors.from_rpc_error(Fake())
        expect(type(err) is errors.ResourceExhausted, f"{type(err).__name__}, want ResourceExhausted")
        expect(err.reason == "TOO_MANY_UPSTREAM_REQUESTS" and err.message == "slow down", str(err))
        expect(err.retry_delay is not None and err.retry_delay.total_seconds() == 2.5, f"retry_delay {err.retry_delay}")
        expect(len(err.details) == 3 and err.details[2].type_url.endswith("example.Unknown"), f"details {err.details}")
    check("errors.from_rpc_error (offline): RetryInfo decoded, an unknown detail kept as Any", retry_info)

    channel.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
