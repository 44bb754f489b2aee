// The reference SPA's token-keeping service worker (REFERENCE_APP_DEFECTS=service-worker), built as
// @axa-fr/oidc-client-service-worker keeps tokens: the page's code redemption passes through it, it
// makes the request to the token endpoint itself, keeps the access token and hands the page a
// placeholder; it puts the real token into the page's calls to the Visma API, and it answers the
// loads of the application's pages. So the requests the stand-in receives (the token request, the
// API calls) are the service worker's, not the page's, and so is the callback page's answer.
"use strict";

importScripts("/config.js");
const config = self.SPA_CONFIG;
const SECURED = "ACCESS_TOKEN_SECURED_BY_SERVICE_WORKER";
let accessToken = null;  // in the worker's memory only: a restarted worker has none (the API says 401)

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = event.request.url;
  if (event.request.method === "POST" && url.startsWith(config.issuer + "/")) {
    event.respondWith(keepToken(event.request));
  } else if (url.startsWith(config.api + "/")) {
    event.respondWith(withToken(event.request));
  } else if (event.request.mode === "navigate") {  // its pages too, the callback included, as @axa-fr's does
    event.respondWith(fetch(event.request));
  }
});

async function keepToken(request) {
  const answer = await fetch(request);
  const body = answer.ok ? await answer.clone().json().catch(() => null) : null;
  if (!body || typeof body.access_token !== "string") return answer;
  accessToken = body.access_token;
  return new Response(JSON.stringify({...body, access_token: SECURED}), {
    status: answer.status,
    headers: {"Content-Type": "application/json", "Cache-Control": "no-store"},
  });
}

function withToken(request) {
  const headers = new Headers(request.headers);
  if (headers.get("Authorization") === `Bearer ${SECURED}` && accessToken) {
    headers.set("Authorization", `Bearer ${accessToken}`);
  }
  return fetch(new Request(request, {headers}));
}
