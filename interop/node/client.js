#!/usr/bin/env node
// Interop checks: the facade called from Node.js as a Node service would, with
// @grpc/grpc-js and @grpc/proto-loader loading our .proto files at run time,
// and protobufjs decoding grpc-status-details-bin with the google.rpc types of
// google-proto-files. Versions are pinned in package.json / package-lock.json
// (`npm ci`). Prints one "ok - ..." or "not ok - ..." line per check; exits 1
// if any failed.
//
//   node interop/node/client.js --addr 127.0.0.1:9090 --proto proto --googleapis build/googleapis --protovalidate build/protovalidate
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const {parseArgs} = require('node:util');

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const googleProtoFiles = require('google-proto-files');

const RESELLER_ID = '11111111-1111-4111-8111-111111111111';
const UNKNOWN_RESELLER_ID = '99999999-9999-4999-8999-999999999999';
const PROVIDER_INSTANCE_ID = 'cb3cd15b-1d6e-45be-b493-c71549cbfd87';
const DOMAIN = 'cloudcockpit-facade';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const {values: args} = parseArgs({
  options: {
    addr: {type: 'string'},
    proto: {type: 'string', default: 'proto'},
    googleapis: {type: 'string', default: 'build/googleapis'},
    protovalidate: {type: 'string', default: 'build/protovalidate'},
  },
});
if (!args.addr) {
  console.error('usage: client.js --addr host:port [--proto dir] [--googleapis dir] [--protovalidate dir]');
  process.exit(2);
}

// Our services, loaded from the .proto sources (google/api/annotations.proto
// from build/googleapis, buf/validate/validate.proto from build/protovalidate).
const definition = protoLoader.loadSync(
  ['cloudcockpit/v1/reseller_service.proto', 'cloudcockpit/v1/customer_service.proto'],
  {keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
    includeDirs: [args.proto, args.googleapis, args.protovalidate]},
);
const pkg = grpc.loadPackageDefinition(definition).cloudcockpit.v1;

// google.rpc.Status and the error detail types, loaded with protobufjs from
// the googleapis protos that google-proto-files ships.
const rpcRoot = new protobuf.Root();
rpcRoot.resolvePath = (origin, target) => {
  for (const dir of [googleProtoFiles.getProtoPath('..'), args.googleapis]) {
    const p = path.join(dir, target);
    if (fs.existsSync(p)) return p;
  }
  return protobuf.util.path.resolve(origin, target);
};
rpcRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpcRoot.lookupType('google.rpc.Status');

// richStatus decodes the grpc-status-details-bin trailer of err into a
// google.rpc.Status and unpacks its details by type name.
function richStatus(err) {
  const raw = err.metadata.get('grpc-status-details-bin');
  assert.equal(raw.length, 1, 'want one grpc-status-details-bin trailer');
  const st = Status.decode(raw[0]);
  assert.equal(st.code, err.code, 'Status.code');
  assert.equal(st.message, err.details, 'Status.message');
  const details = {};
  for (const any of st.details) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    const type = rpcRoot.lookupType(typeName); // throws on an unknown type
    const name = typeName.replace(/^google\.rpc\./, '');
    assert.ok(!(name in details), `${name} twice`);
    details[name] = type.toObject(type.decode(any.value), {defaults: true});
  }
  return details;
}

function metadata(correlationId, tenant = 'portal.cloudcockpit.com') {
  const md = new grpc.Metadata();
  md.set('authorization', 'Bearer sandbox-token');
  if (tenant) md.set('x-tenant', tenant);
  if (correlationId) md.set('x-correlation-id', correlationId);
  return md;
}

// unary calls client.method and resolves with the error or response and the
// initial (header) metadata.
function unary(client, method, request, md) {
  return new Promise((resolve) => {
    let header = new grpc.Metadata();
    const call = client[method](request, md, {deadline: Date.now() + 10_000},
      (err, res) => resolve({err, res, header}));
    call.on('metadata', (m) => { header = m; });
  });
}

function correlationId(header) {
  const v = header.get('x-correlation-id');
  assert.equal(v.length, 1, `want one x-correlation-id in the initial metadata, got ${v}`);
  return v[0];
}

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - node: ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok - node: ${name}: ${String(e.message).split('\n')[0]}`);
    console.error(e);
  }
}

async function main() {
  const creds = grpc.credentials.createInsecure();
  const resellers = new pkg.ResellerService(args.addr, creds);
  const customers = new pkg.CustomerService(args.addr, creds);

  await check('GetReseller with metadata; x-correlation-id echoed in initial metadata', async () => {
    const cid = crypto.randomUUID();
    const {err, res, header} = await unary(resellers, 'getReseller', {resellerId: RESELLER_ID}, metadata(cid));
    assert.ifError(err);
    assert.equal(res.id, RESELLER_ID);
    assert.ok(res.companyName, 'companyName not set');
    assert.equal(res.country, 'PT');
    assert.ok(res.providerResellers.length >= 1, 'no provider resellers');
    assert.equal(correlationId(header), cid);
  });

  await check('GetReseller without x-correlation-id gets a generated UUID', async () => {
    const {err, header} = await unary(resellers, 'getReseller', {resellerId: RESELLER_ID}, metadata());
    assert.ifError(err);
    assert.match(correlationId(header), UUID_RE);
  });

  await check('GetAcceptanceLink with metadata; correlation id echoed', async () => {
    const cid = crypto.randomUUID();
    const {err, res, header} = await unary(customers, 'getAcceptanceLink',
      {providerInstanceId: PROVIDER_INSTANCE_ID, resellerId: RESELLER_ID}, metadata(cid));
    assert.ifError(err);
    assert.ok(res.url.startsWith('https://admin.microsoft.com/'), res.url);
    assert.ok(res.url.includes('invType=IndirectResellerRelationship'), res.url);
    assert.equal(correlationId(header), cid);
  });

  await check('GetReseller NOT_FOUND: ErrorInfo, RequestInfo, ResourceInfo decoded from grpc-status-details-bin', async () => {
    const cid = crypto.randomUUID();
    const {err, header} = await unary(resellers, 'getReseller', {resellerId: UNKNOWN_RESELLER_ID}, metadata(cid));
    assert.ok(err, 'the call succeeded; want NOT_FOUND');
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(correlationId(header), cid);
    const d = richStatus(err);
    assert.equal(d.ErrorInfo.reason, 'UPSTREAM_NOT_FOUND');
    assert.equal(d.ErrorInfo.domain, DOMAIN);
    assert.equal(d.ErrorInfo.metadata.correlationId, cid);
    assert.equal(d.ErrorInfo.metadata.upstreamHttpStatus, '404');
    assert.equal(d.RequestInfo.requestId, cid);
    assert.equal(d.ResourceInfo.resourceType, 'cloudcockpit.v1.Reseller');
    assert.equal(d.ResourceInfo.resourceName, UNKNOWN_RESELLER_ID);
  });

  await check('GetReseller INVALID_ARGUMENT: BadRequest lists reseller_id and x-tenant', async () => {
    const cid = crypto.randomUUID();
    const {err} = await unary(resellers, 'getReseller', {resellerId: 'not-a-uuid'}, metadata(cid, 'not a domain'));
    assert.ok(err, 'the call succeeded; want INVALID_ARGUMENT');
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    const d = richStatus(err);
    assert.equal(d.ErrorInfo.reason, 'INVALID_REQUEST');
    assert.equal(d.ErrorInfo.domain, DOMAIN);
    assert.equal(d.RequestInfo.requestId, cid);
    const fields = d.BadRequest.fieldViolations.map((v) => v.field).sort();
    assert.deepEqual(fields, ['reseller_id', 'x-tenant']);
    assert.ok(d.BadRequest.fieldViolations.every((v) => v.description), 'empty description');
  });

  await check('GetAcceptanceLink INVALID_ARGUMENT without provider_instance_id', async () => {
    const {err} = await unary(customers, 'getAcceptanceLink', {}, metadata());
    assert.ok(err, 'the call succeeded; want INVALID_ARGUMENT');
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(richStatus(err).BadRequest.fieldViolations.map((v) => v.field), ['provider_instance_id']);
  });

  await check('GetReseller without authorization is UNAUTHENTICATED', async () => {
    const md = new grpc.Metadata();
    md.set('x-tenant', 'portal.cloudcockpit.com');
    const {err} = await unary(resellers, 'getReseller', {resellerId: RESELLER_ID}, md);
    assert.ok(err, 'the call succeeded; want UNAUTHENTICATED');
    assert.equal(err.code, grpc.status.UNAUTHENTICATED);
    assert.equal(richStatus(err).ErrorInfo.reason, 'MISSING_CREDENTIALS');
  });

  resellers.close();
  customers.close();
  return failures ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = 1; });
