// Package sandbox is an embedded, in-memory imitation of the CloudCockpit partner REST
// API. It is what `cloudcockpit-facade -sandbox` serves in-process instead of the real
// upstream, and what tests and benchmarks point the facade's REST client at.
//
// A [Server] answers the two upstream operations the facade uses, on the same paths and
// with the same rules as the real API:
//
//	GET /v1/Resellers/{resellerId}
//	GET /v1/Customers/relationship-acceptance?providerInstanceId=...&resellerId=...
//
// Routing is case-insensitive and tolerates a trailing slash, as ASP.NET's is. An unknown
// path answers 404 and a method other than GET answers 405 (with Allow: GET), both as
// error envelopes and before any other check. On a known route the checks run in this
// order:
//
//  1. Authorization must be "Bearer <token>" (scheme in any casing, any non-empty token);
//     otherwise 401 with an empty body and WWW-Authenticate: Bearer.
//  2. X-Tenant must be present and look like a domain name, and every id must be a UUID;
//     all violations are listed in one 400 envelope (propertyName X-Tenant, resellerId or
//     providerInstanceId).
//  3. Unknown ids answer 404 envelopes ("Reseller not found.", "Provider instance not
//     found.").
//
// Every answer carries the caller's X-Correlation-Id (or a generated UUID) in the
// X-Correlation-Id response header and in the envelope's correlationId. Envelopes look
// like the upstream's:
//
//	{"statusCode":400,"type":"ValidationError","description":"...","correlationId":"...",
//	 "errors":[{"propertyName":"resellerId","description":["..."]}]}
//
// The sample data (see [Resellers] and the *ResellerID constants) is fixed and read once.
//
// For load and failure tests, [WithLatency], [WithFaults] and [WithCredentialEcho] change
// this behaviour; without them the server behaves as described above.
package sandbox
