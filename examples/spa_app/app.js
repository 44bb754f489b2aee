// A reference single-page application on oidc-client-ts: authorization code with PKCE S256, no
// client secret, its state and nonce checked by the library. What oidc-client-ts leaves to the
// application (it reads the ID token without checking iss, aud or exp, and ignores RFC 9207's
// iss on the callback) this file checks, as OpenID Connect Core 3.1.3.7 and RFC 9207 ask.
//
// REFERENCE_APP_DEFECTS (server.py passes them) switch on defects, to prove the certification
// catches them:
//   secret-in-spa           the bundle carries a client secret and sends it at the token endpoint
//   secret-in-basic         the same secret in an HTTP Basic header (oidc-client-ts's client_secret_basic), as
//                           an installed app with a Google-style client_secret does (requests-oauthlib)
//   empty-basic-password    no defect: HTTP Basic "client_id:" with an empty password (requests-oauthlib's
//                           default for a public client), which IdentityServer reads as no secret
//   offline-access          the SPA asks for offline_access, which only server-side web apps may
//   id-token-not-validated  iss, aud and exp of the ID token are not checked (the nonce still is,
//                           by oidc-client-ts)
//   no-pkce                 the authorization request carries no PKCE code_challenge (oidc-client-ts's
//                           disablePKCE), which a SPA must send
//   token-in-page-url       after the sign-in the SPA opens /profile?access_token=... (a page URL)
//   wrong-client-id         the SPA names another client_id than the one registered (a typo in its config)
//   token-in-console        the SPA logs the signed-in user, tokens included, to the browser console
//                           (the clean SPA logs only who signed in and the API's status)
//   token-to-third-party    the SPA sends its access token to a partner's API on another origin ("sync to
//                           our CRM"), in an Authorization header (RFC 6749 section 10.3: APPC-32)
//   analytics-beacon        no defect: the SPA sends an analytics beacon to another origin, carrying no
//                           credential ({event, status}); the suite's browser aborts it, and every rule passes
//   fragment-response       no defect alone: asks for response_mode=fragment, the response in the callback's
//                           #fragment (no request carries it)
//   fragment-redirect       the matrix sets SPA_APP_REDIRECT_PATH=/#/callback (appside/matrix.py): registered
//                           and sent with a fragment, as @axa-fr/oidc-client's demo (RFC 6749 section 3.1.2)
// SPA_APP_REDIRECT_PATH (server.py's redirectPath) puts its callback elsewhere than /callback: at /, its root is
// its callback where it carries a response (a code or an error), its home page where not.
"use strict";

// origins of other parties, which the suite's browser never reaches (no network): where the switches send
const ANALYTICS = "https://telemetry.analytics.example/collect";
const PARTNER_API = "https://api.partner-crm.example/v1/sync";

const config = window.SPA_CONFIG;
const defects = new Set(config.defects);
const manager = new oidc.UserManager({
  authority: config.issuer,
  client_id: defects.has("wrong-client-id") ? config.clientId.replace("-spa", "") : config.clientId,
  // what a developer who mistakes the SPA for a server-side app pastes into the bundle
  client_secret: defects.has("secret-in-spa") || defects.has("secret-in-basic") ? "reference-spa-secret-in-the-bundle"
    : defects.has("empty-basic-password") ? "" : undefined,
  client_authentication:
    defects.has("secret-in-basic") || defects.has("empty-basic-password") ? "client_secret_basic" : undefined,
  redirect_uri: `${location.origin}${config.redirectPath}`,
  response_type: "code",
  response_mode: defects.has("fragment-response") ? "fragment" : undefined,  // undefined: none sent, the query
  scope: "openid profile email" + (defects.has("offline-access") ? " offline_access" : ""),
  loadUserInfo: false,
  disablePKCE: defects.has("no-pkce"),
  automaticSilentRenew: false,
});

function signIn() {  // oidc-client-ts sends a nonce only when given one; an ID token is then bound to this sign-in
  return manager.signinRedirect({nonce: crypto.randomUUID()});
}

function show(text, id) {
  const status = document.getElementById("status");
  status.textContent = text;
  if (id) status.id = id;
}

function claimsOf(jwt) {
  const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload + "=".repeat((4 - payload.length % 4) % 4)));
}

async function callback() {
  const metadata = await manager.metadataService.getMetadata();
  const params = responseParameters();
  if (metadata.authorization_response_iss_parameter_supported && params.get("iss") !== metadata.issuer) {
    throw new Error("the response does not come from Visma Connect (iss)");
  }
  const user = await manager.signinRedirectCallback();  // checks state and nonce, redeems the code
  // an object, as a developer logs it: the console shows a preview, its JSON has the tokens whole
  if (defects.has("token-in-console")) console.log("signed in", user);
  console.info("signed in as", user.profile.sub, "scope", user.scope, "expires in", user.expires_in, "s");
  if (!defects.has("id-token-not-validated")) {
    const claims = claimsOf(user.id_token);
    const audiences = [].concat(claims.aud);
    if (claims.iss !== metadata.issuer) throw new Error("the ID token comes from another issuer");
    if (!audiences.includes(config.clientId)) throw new Error("the ID token is meant for another client");
    if (!(claims.exp * 1000 > Date.now())) throw new Error("the ID token has expired");
  }
  if (defects.has("token-in-page-fragment")) {  // "so that a reload keeps the session"
    history.replaceState(null, "", `/profile#access_token=${encodeURIComponent(user.access_token)}`);
    await profile();
    return;
  }
  if (defects.has("token-in-page-url")) {
    location.assign(`/profile?access_token=${encodeURIComponent(user.access_token)}`);
    return;
  }
  history.replaceState(null, "", "/profile");
  await profile();
}

async function profile() {
  const user = await manager.getUser();
  if (!user || user.expired) {  // no refresh token in a SPA: an expired token means a new sign-in
    await signIn();
    return;
  }
  const answer = await fetch(`${config.api}/v1/me`, {headers: {Authorization: `Bearer ${user.access_token}`}});
  console.log("Visma API /v1/me:", answer.status, {expired: user.expired, token_type: user.token_type});
  if (defects.has("analytics-beacon")) {
    navigator.sendBeacon(ANALYTICS, JSON.stringify({event: "profile_viewed", status: answer.status}));
  }
  if (defects.has("token-to-third-party")) {  // "also sync to our CRM partner"
    fetch(PARTNER_API, {method: "POST", headers: {Authorization: `Bearer ${user.access_token}`}}).catch(() => {});
  }
  if (answer.status === 401) {
    await manager.removeUser();
    await signIn();
    return;
  }
  show(`Signed in. The Visma API says: ${await answer.text()}`, "signed-in");
}

async function keepTokensInServiceWorker() {
  const registration = await navigator.serviceWorker.register("/token-keeper.js");
  if (!registration) throw new Error("the browser did not register the service worker that keeps the tokens");
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {  // the worker claims this page once it is active
    await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, {once: true}));
  }
}

function responseParameters() {  // where the response mode puts them
  return new URLSearchParams(defects.has("fragment-response") ? location.hash.slice(1) : location.search);
}

function isCallback() {  // its redirect URI carrying a response: at the root, a load without one is its home
  const params = responseParameters();
  return location.pathname === config.redirectPath && (params.has("code") || params.has("error"));
}

async function main() {
  if (defects.has("service-worker")) await keepTokensInServiceWorker();
  if (location.pathname === "/login") {
    await signIn();
  } else if (isCallback()) {
    await callback();
  } else if (location.pathname === "/profile") {
    await profile();
  } else {
    show("Not signed in.");
  }
}

main().catch((error) => {
  console.error(error);
  show(`Sign-in failed: ${error.message}`);
});
