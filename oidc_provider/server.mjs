// node's oidc-provider (a certified OpenID provider), configured as close to the Visma Connect
// contract as it allows, on loopback. Started by scripts/oidc_provider.py; the suite runs
// against it with environments/oidc-provider.yaml.
//   node oidc_provider/server.mjs --port 3311 [--code-lifetime 60]
// Client secrets come from OP_SERVICE_SECRET, OP_WEB_SECRET and OP_WEB_OTHER_SECRET.
import Provider from "oidc-provider";

const option = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const port = Number(option("--port", 3311));
// what environments/oidc-provider.yaml declares (authorization_code_lifetime); the script's --code-lifetime sets another
const codeLifetime = Number(option("--code-lifetime", 60));
const issuer = `http://127.0.0.1:${port}`;

function secret(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc-provider: ${name} is not set; export it (the suite's environment file reads it too)`);
    process.exit(2);
  }
  return value;
}

const interactive = (id, redirect, extra) => ({
  client_id: id,
  redirect_uris: [redirect],
  response_types: ["code"],
  grant_types: ["authorization_code"],
  scope: "openid profile email",
  ...extra,
});

const provider = new Provider(issuer, {
  clients: [
    {
      // Service integration: client_credentials only, the documented form-encoded secret.
      client_id: "op-service",
      client_secret: secret("OP_SERVICE_SECRET"),
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_post",
      scope: "visma_api:read",
    },
    // Server-side web apps: a secret, PKCE optional, refresh tokens with offline_access.
    interactive("op-web", "https://web.app.local/callback", {
      client_secret: secret("OP_WEB_SECRET"),
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "client_secret_post",
      scope: "openid profile email offline_access",
    }),
    interactive("op-web-other", "https://web-other.app.local/callback?app=other", {
      client_secret: secret("OP_WEB_OTHER_SECRET"),
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "client_secret_post",
      scope: "openid profile email offline_access",
    }),
    // A web app registered with access tokens of 10 s (ttl.AccessToken below): UINFO-08 sees one expire.
    interactive("op-web-short-lived", "https://web-short-lived.app.local/callback", {
      client_secret: secret("OP_WEB_SHORT_LIVED_SECRET"),
      token_endpoint_auth_method: "client_secret_post",
    }),
    // SPA and native app: public clients, PKCE required, no refresh token grant.
    interactive("op-spa", "https://spa.app.local/callback", { token_endpoint_auth_method: "none" }),
    interactive("op-native", "https://native.app.local/callback", {
      token_endpoint_auth_method: "none",
      application_type: "native",
    }),
  ],
  scopes: ["openid", "offline_access", "profile", "email", "visma_api:read", "visma_api:write"],
  claims: { openid: ["sub"], profile: ["name"], email: ["email"] },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true }, // its own login and consent pages
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: (ctx, client) => client.clientAuthMethod === "none" },
  rotateRefreshToken: true, // Visma's "one time" refresh tokens
  ttl: {
    // per client, as its registration says: the short-lived app's tokens live 10 s, the others' 3600 s
    AccessToken: (ctx, token, client) => (client.clientId === "op-web-short-lived" ? 10 : 3600),
    ClientCredentials: 3600,
    AuthorizationCode: codeLifetime,
    RefreshToken: 86400,
  },
  // RFC 6749 section 4.1.3: redirect_uri is REQUIRED in the token request when the authorization
  // request had one; by default oidc-provider fills in a client's only registered URI instead.
  allowOmittingSingleRegisteredRedirectUri: false,
  // The test user has a name and an email, as every Visma Connect user has.
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: id, email: `${id}@example.com` }),
  }),
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
