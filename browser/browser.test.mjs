// `make browser` (browser/run.sh builds what this needs, then runs
// `node --test` on this file): a page on another origin, in headless
// Chromium, calls the facade over REST, Connect and gRPC-Web with the real
// client libraries and checks each answer and an unknown reseller's error
// code and details.
//
// Environment: FACADE_BIN (the built server), WWW_DIR (index.html and the
// bundled app.js), CHROMIUM (default /usr/bin/chromium).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createInterface } from "node:readline";

import { chromium } from "playwright-core";

const facadeBin = process.env.FACADE_BIN;
const wwwDir = process.env.WWW_DIR;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const known = "11111111-1111-4111-8111-111111111111"; // the sandbox's Contoso
const unknown = "99999999-9999-4999-8999-999999999999"; // answers 404 upstream
const specProviderInstance = "cb3cd15b-1d6e-45be-b493-c71549cbfd87"; // the sandbox has its acceptance link
const startTimeoutMs = 60_000;

// servePage serves index.html and app.js from WWW_DIR on a loopback port
// and returns the server and its origin.
async function servePage() {
  const files = {
    "/": ["text/html", readFileSync(join(wwwDir, "index.html"))],
    "/app.js": ["text/javascript", readFileSync(join(wwwDir, "app.js"))],
  };
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, "http://x").pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": f[0] }).end(f[1]);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

// startFacade runs the facade on the sandbox upstream, allowing origin, and
// resolves with its HTTP base URL once it listens and is ready.
async function startFacade(origin) {
  const env = { ...process.env };
  for (const k of ["CLOUDCOCKPIT_BASE_URL", "CLOUDCOCKPIT_TENANT", "SANDBOX", "CORS_ALLOWED_ORIGINS"]) delete env[k];
  const proc = spawn(facadeBin, [
    "-sandbox", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0",
    "-cors-allowed-origins", origin,
  ], { env, stdio: ["ignore", "ignore", "pipe"] });
  const log = [];
  const api = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the facade did not start within ${startTimeoutMs} ms:\n${log.join("\n")}`)), startTimeoutMs);
    proc.on("exit", (code) => reject(new Error(`the facade exited (${code}):\n${log.join("\n")}`)));
    createInterface({ input: proc.stderr }).on("line", (line) => {
      log.push(line);
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "cloudcockpit-facade listening") {
          clearTimeout(timer);
          resolve(`http://${rec.http}`);
        }
      } catch {
        // not a JSON log line
      }
    });
  });
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${api}/readyz`)).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("the facade was not ready in time");
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, api, log };
}

describe("a page on another origin calls the facade", { timeout: 180_000 }, () => {
  let page, context, profile, facade, pageServer, strangerServer;
  const consoleLines = [];

  before(async () => {
    const served = await servePage();
    pageServer = served.server;
    facade = await startFacade(served.origin);
    profile = mkdtempSync(join(tmpdir(), "facade-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      timeout: startTimeoutMs,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
    page = await context.newPage();
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(`${served.origin}/`);
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
    strangerServer = (await servePage()).server;
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (facade) {
      facade.proc.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          facade.proc.kill("SIGKILL");
          r();
        }, 10_000);
        facade.proc.on("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    pageServer?.close();
    strangerServer?.close();
  });

  // call runs window[fn](api, id, correlationId) in the page.
  async function call(fn, id, correlationId) {
    try {
      return await page.evaluate(([f, api, i, c]) => window[f](api, i, c), [fn, facade.api, id, correlationId]);
    } catch (e) {
      throw new Error(`${fn}: ${e.message}\nbrowser console:\n${consoleLines.join("\n")}`);
    }
  }

  const callers = [
    ["REST mirror (fetch)", "restGetReseller"],
    ["Connect (@connectrpc/connect-web)", "connectGetReseller"],
    ["Connect GET (@connectrpc/connect-web, useHttpGet)", "connectHttpGetGetReseller"],
    ["gRPC-Web (@connectrpc/connect-web)", "grpcWebGetReseller"],
    ["gRPC-Web (the official grpc-web runtime)", "grpcWebOfficialGetReseller"],
    ["gRPC-Web text (the official grpc-web runtime, mode=grpcwebtext)", "grpcWebTextOfficialGetReseller"],
  ];
  for (const [name, fn] of callers) {
    test(`${name}: reads a reseller`, async () => {
      const cid = randomUUID();
      const got = await call(fn, known, cid);
      assert.equal(got.ok, true, JSON.stringify(got));
      assert.equal(got.companyName, "Contoso Cloud Solutions, Lda.");
      assert.equal(got.correlationId, cid, "X-Correlation-Id readable and echoed");
      if (fn.includes("Official")) {
        assert.equal(got.status, 0, "the status event reports OK");
      }
      if (fn === "connectHttpGetGetReseller") {
        assert.equal(got.httpMethod, "GET", "connect-web sent a GET");
      }
    });

    test(`${name}: an unknown reseller is NOT_FOUND with its details`, async () => {
      const cid = randomUUID();
      const got = await call(fn, unknown, cid);
      assert.equal(got.ok, false, JSON.stringify(got));
      assert.equal(got.code, "NOT_FOUND");
      assert.equal(got.reason, "UPSTREAM_NOT_FOUND");
      assert.equal(got.requestId, cid, "RequestInfo carries the correlation id");
      assert.equal(got.resourceName, unknown, "ResourceInfo names the reseller");
      assert.deepEqual(got.detailTypes, ["google.rpc.ErrorInfo", "google.rpc.RequestInfo", "google.rpc.ResourceInfo"]);
      if (fn === "restGetReseller") {
        assert.equal(got.status, 404);
        assert.equal(got.correlationId, cid);
      }
    });
  }

  // The official runtime in both of its formats: the other method, and a
  // request the facade refuses itself.
  for (const format of ["", "Text"]) {
    const name = `gRPC-Web${format ? " text" : ""} (the official grpc-web runtime)`;
    test(`${name}: reads an acceptance link`, async () => {
      const cid = randomUUID();
      const got = await call(`grpcWeb${format}OfficialGetAcceptanceLink`, specProviderInstance, cid);
      assert.equal(got.ok, true, JSON.stringify(got));
      assert.match(got.url, /^https:\/\//);
      assert.equal(got.correlationId, cid);
      assert.equal(got.status, 0, "the status event reports OK");
    });

    test(`${name}: an invalid id is INVALID_ARGUMENT with a BadRequest`, async () => {
      const cid = randomUUID();
      const got = await call(`grpcWeb${format}OfficialGetReseller`, "not-a-uuid", cid);
      assert.equal(got.ok, false, JSON.stringify(got));
      assert.equal(got.code, "INVALID_ARGUMENT");
      assert.equal(got.reason, "INVALID_REQUEST");
      assert.equal(got.requestId, cid);
      assert.deepEqual(got.detailTypes, ["google.rpc.BadRequest", "google.rpc.ErrorInfo", "google.rpc.RequestInfo"]);
    });
  }

  test("a page on an origin that is not allowed gets no answer", async () => {
    const stranger = await context.newPage();
    try {
      const origin = `http://127.0.0.1:${strangerServer.address().port}`;
      await stranger.goto(`${origin}/`);
      await stranger.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
      const got = await stranger.evaluate(async ([api, id]) => {
        try {
          await window.restGetReseller(api, id, crypto.randomUUID());
          return "answered";
        } catch (e) {
          return `refused: ${e.name}`;
        }
      }, [facade.api, known]);
      assert.equal(got, "refused: TypeError", "fetch fails as CORS blocks it");
    } finally {
      await stranger.close();
    }
  });
});
