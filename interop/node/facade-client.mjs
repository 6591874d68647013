#!/usr/bin/env node
// Interop checks: the facade called through the npm package of clients/ts
// (@cloudcockpit/facade-client: protoc-gen-es code and its errorDetails
// helper), installed from the repository path with Connect-ES v2 transports:
// gRPC on the gRPC port (@connectrpc/connect-node) and the browser transports
// of @connectrpc/connect-web (Connect and gRPC-Web, over Node's fetch) on the
// HTTP port. Prints one "ok - ..." or "not ok - ..." line per check; exits 1
// if any failed.
//
//   node interop/node/facade-client.mjs --addr 127.0.0.1:9090 --http http://127.0.0.1:8080

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {parseArgs} from 'node:util';

import {Code, ConnectError, createClient} from '@connectrpc/connect';
import {createGrpcTransport} from '@connectrpc/connect-node';
import {createConnectTransport, createGrpcWebTransport} from '@connectrpc/connect-web';
import {CustomerService, ResellerService, errorDetails} from '@cloudcockpit/facade-client';
import {ErrorInfoSchema, RetryInfoSchema} from '@cloudcockpit/facade-client/gen/google/rpc/error_details_pb';

const RESELLER_ID = '11111111-1111-4111-8111-111111111111';
const UNKNOWN_RESELLER_ID = '99999999-9999-4999-8999-999999999999';
const PROVIDER_INSTANCE_ID = 'cb3cd15b-1d6e-45be-b493-c71549cbfd87';
const DOMAIN = 'cloudcockpit-facade';

const {values: args} = parseArgs({options: {addr: {type: 'string'}, http: {type: 'string'}}});
if (!args.addr || !args.http) {
  console.error('usage: facade-client.mjs --addr host:port --http http://host:port');
  process.exit(2);
}

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - node (facade-client): ${name}`);
  } catch (err) {
    failures++;
    console.log(`not ok - node (facade-client): ${name}: ${String(err?.message ?? err).split('\n')[0]}`);
    console.error(err);
  }
}

const headers = (correlationId, tenant = 'portal.cloudcockpit.com') => ({
  authorization: 'Bearer sandbox-token',
  'x-tenant': tenant,
  ...(correlationId && {'x-correlation-id': correlationId}),
});

// failure calls fn, which must fail, and returns errorDetails of what it threw.
async function failure(fn) {
  try {
    await fn();
  } catch (err) {
    return errorDetails(err);
  }
  throw new Error('the call succeeded; want an error');
}

const transports = {
  'gRPC (connect-node)': createGrpcTransport({baseUrl: `http://${args.addr}`}),
  'Connect (connect-web)': createConnectTransport({baseUrl: args.http}),
  'gRPC-Web (connect-web)': createGrpcWebTransport({baseUrl: args.http}),
};

for (const [name, transport] of Object.entries(transports)) {
  const resellers = createClient(ResellerService, transport);
  const customers = createClient(CustomerService, transport);
  const opts = {timeoutMs: 10_000};

  await check(`${name}: GetReseller; x-correlation-id echoed in the response headers`, async () => {
    const cid = crypto.randomUUID();
    let header;
    const r = await resellers.getReseller({resellerId: RESELLER_ID},
      {...opts, headers: headers(cid), onHeader: (h) => { header = h; }});
    assert.equal(r.id, RESELLER_ID);
    assert.ok(r.companyName, 'companyName not set');
    assert.equal(r.country, 'PT');
    assert.ok(r.providerResellers.length >= 1, 'no provider resellers');
    assert.equal(header?.get('x-correlation-id'), cid);
  });

  await check(`${name}: GetAcceptanceLink`, async () => {
    const resp = await customers.getAcceptanceLink(
      {providerInstanceId: PROVIDER_INSTANCE_ID, resellerId: RESELLER_ID}, {...opts, headers: headers()});
    assert.match(resp.url, /^https:\/\/admin\.microsoft\.com\/.*invType=IndirectResellerRelationship/);
  });

  await check(`${name}: NOT_FOUND through errorDetails: ErrorInfo, RequestInfo, ResourceInfo`, async () => {
    const cid = crypto.randomUUID();
    const d = await failure(() => resellers.getReseller({resellerId: UNKNOWN_RESELLER_ID}, {...opts, headers: headers(cid)}));
    assert.equal(d.code, Code.NotFound);
    assert.equal(d.reason, 'UPSTREAM_NOT_FOUND');
    assert.equal(d.errorInfo?.domain, DOMAIN);
    assert.equal(d.errorInfo?.metadata.correlationId, cid);
    assert.equal(d.correlationId, cid);
    assert.equal(d.resourceInfo?.resourceType, 'cloudcockpit.v1.Reseller');
    assert.equal(d.resourceInfo?.resourceName, UNKNOWN_RESELLER_ID);
    assert.equal(d.badRequest, undefined);
    assert.equal(d.retryDelayMs, undefined);
  });

  await check(`${name}: INVALID_ARGUMENT through errorDetails: BadRequest lists reseller_id and x-tenant`, async () => {
    const d = await failure(() => resellers.getReseller({resellerId: 'not-a-uuid'},
      {...opts, headers: headers(undefined, 'not a domain')}));
    assert.equal(d.code, Code.InvalidArgument);
    assert.equal(d.reason, 'INVALID_REQUEST');
    assert.deepEqual(d.badRequest?.fieldViolations.map((v) => v.field).sort(), ['reseller_id', 'x-tenant']);
    assert.ok(d.badRequest.fieldViolations.every((v) => v.description), 'empty description');
  });
}

await check('a refused connection: errorDetails with no details', async () => {
  const client = createClient(ResellerService, createGrpcTransport({baseUrl: 'http://127.0.0.1:1'}));
  const d = await failure(() => client.getReseller({resellerId: RESELLER_ID}, {timeoutMs: 10_000, headers: headers()}));
  assert.equal(d.code, Code.Unavailable);
  assert.equal(d.errorInfo, undefined);
  assert.equal(d.reason, '');
});

await check('errorDetails (offline): RetryInfo decoded into retryDelayMs', async () => {
  const d = errorDetails(new ConnectError('slow down', Code.ResourceExhausted, undefined, [
    {desc: ErrorInfoSchema, value: {reason: 'TOO_MANY_UPSTREAM_REQUESTS', domain: DOMAIN}},
    {desc: RetryInfoSchema, value: {retryDelay: {seconds: 2n, nanos: 500_000_000}}},
  ]));
  assert.equal(d.code, Code.ResourceExhausted);
  assert.equal(d.reason, 'TOO_MANY_UPSTREAM_REQUESTS');
  assert.equal(d.retryDelayMs, 2500);
  assert.equal(d.correlationId, '');
});

process.exitCode = failures ? 1 : 0;
