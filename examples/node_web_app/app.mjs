// A reference server-side web application on Express and openid-client 6 (npm), signing in with
// Visma Connect as the openid-client documentation shows it: discovery over HTTPS, authorization
// code with PKCE S256, state and nonce, the client secret in HTTP Basic (client.ClientSecretBasic,
// which form-urlencodes the id and the secret as RFC 6749 section 2.3.1 asks), offline_access,
// refresh on expiry; openid-client checks RFC 9207's iss and the ID token.
//
// Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL, NODE_WEB_APP_PORT,
// NODE_WEB_APP_CLIENT_ID, NODE_WEB_APP_CLIENT_SECRET (the stand-in's certificate authority comes in
// NODE_EXTRA_CA_CERTS). REFERENCE_APP_DEFECTS (comma-separated) switches on defects, to prove the
// certification catches them:
//
//   no-response-type       the authorization request carries no response_type
//   redirect-uri-changed   the callback URL handed to openid-client is rebuilt on localhost instead of
//                          127.0.0.1, so the code is redeemed with another redirect_uri
//   no-state               the authorization request carries no state (openid-client told to skip it)
//   short-state            the state is 64 random bits
//   fixed-state            every sign-in uses the same state
//   state-not-checked      a state is sent, but openid-client is told to skip the state check
//   no-pkce                no PKCE, though the application declares it
//   plain-pkce             PKCE with the plain method
//   wrong-verifier         the code is redeemed with another code_verifier
//   no-secret              token requests carry no client secret (client.None())
//   old-refresh-token      after a refresh, the first refresh token is kept and used again
//   expired-token-used     the access token is used without looking at its expiry, and the API's refusal
//                          of the expired token is shown: never renewed
//   error-crashes          a callback with an error (access_denied) crashes the request (HTTP 500)
//   tls-unverified         NODE_TLS_REJECT_UNAUTHORIZED=0 ("the staging server's certificate"): the
//                          authorization server's certificate is not validated
//   chunked-requests       no defect: every request body (code redemption, refresh) is sent chunked, with no
//                          Content-Length (RFC 9112 section 7.1), as a customFetch on node:https sends it

import crypto from 'node:crypto'
import express from 'express'
import session from 'express-session'
import * as client from 'openid-client'

const ISSUER = process.env.VISMA_CONNECT_ISSUER
const API = process.env.VISMA_API_BASE_URL
const PORT = Number(process.env.NODE_WEB_APP_PORT || 5083)
const BASE = `http://127.0.0.1:${PORT}`
const REDIRECT_URI = `${BASE}/callback`
const SCOPE = 'openid profile email offline_access'
const DEFECTS = new Set((process.env.REFERENCE_APP_DEFECTS || '').split(',').filter(Boolean))
if (DEFECTS.has('tls-unverified')) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0' // read at every TLS connection
const FIXED_STATE = 'reference-node-app-state-always-the-same'
const TOKENS = new Map() // server-side token store, by session id

const config = await client.discovery(
  new URL(ISSUER),
  process.env.NODE_WEB_APP_CLIENT_ID || 'reference-node-web',
  undefined,
  DEFECTS.has('no-secret') ? client.None() : client.ClientSecretBasic(process.env.NODE_WEB_APP_CLIENT_SECRET)
)
if (DEFECTS.has('chunked-requests')) {
  // a stream has no length known in advance: fetch sends it chunked
  config[client.customFetch] = (url, options) =>
    fetch(url, options.body ? { ...options, body: new Blob([String(options.body)]).stream(), duplex: 'half' } : options)
}

const app = express()
app.use(session({ secret: crypto.randomBytes(32).toString('hex'), resave: false, saveUninitialized: true }))

const page = (res, body, status = 200) =>
  res.status(status).type('html').send(`<!doctype html><title>Reference Node web app</title><body>${body}</body>`)
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

app.get('/', (req, res) => page(res, '<p>Not signed in.</p><a href="/login">Sign in with Visma</a>'))

app.get('/login', async (req, res) => {
  const verifier = client.randomPKCECodeVerifier()
  const parameters = { redirect_uri: REDIRECT_URI, scope: SCOPE, nonce: client.randomNonce() }
  if (!DEFECTS.has('no-pkce')) {
    const plain = DEFECTS.has('plain-pkce')
    parameters.code_challenge = plain ? verifier : await client.calculatePKCECodeChallenge(verifier)
    parameters.code_challenge_method = plain ? 'plain' : 'S256'
  }
  if (!DEFECTS.has('no-state')) {
    parameters.state = DEFECTS.has('fixed-state')
      ? FIXED_STATE
      : DEFECTS.has('short-state')
        ? crypto.randomBytes(8).toString('hex')
        : client.randomState()
  }
  req.session.signIn = { verifier, state: parameters.state, nonce: parameters.nonce }
  const url = client.buildAuthorizationUrl(config, parameters)
  if (DEFECTS.has('no-response-type')) url.searchParams.delete('response_type')
  res.redirect(url.href)
})

app.get('/callback', async (req, res) => {
  // one callback per sign-in started here: loaded again (a reload), it redeems nothing (RFC 6749 section 4.1.2:
  // "The client MUST NOT use the authorization code more than once"), whatever a defect does with the state
  const signIn = req.session.signIn
  delete req.session.signIn
  if (!signIn) return page(res, '<p>Sign-in failed: no sign-in is pending here.</p>', 400)
  const base = DEFECTS.has('redirect-uri-changed') ? `http://localhost:${PORT}` : BASE
  const checks = {
    pkceCodeVerifier: DEFECTS.has('no-pkce')
      ? undefined
      : DEFECTS.has('wrong-verifier')
        ? client.randomPKCECodeVerifier()
        : signIn.verifier,
    expectedState: DEFECTS.has('no-state') || DEFECTS.has('state-not-checked') ? client.skipStateCheck : signIn.state,
    expectedNonce: signIn.nonce,
    idTokenExpected: true,
  }
  let tokens
  if (DEFECTS.has('error-crashes')) {
    tokens = await client.authorizationCodeGrant(config, new URL(req.originalUrl, base), checks)
  } else {
    try {
      tokens = await client.authorizationCodeGrant(config, new URL(req.originalUrl, base), checks)
    } catch (error) {
      console.error(`sign-in failed: ${error.error || error.code} ${error.message}`)
      return page(res, `<p>Sign-in failed: ${escape(error.error || error.code || error.message)}.</p>`, 400)
    }
  }
  TOKENS.set(req.session.id, { ...tokens, expiresAt: Date.now() + (tokens.expiresIn() ?? 3600) * 1000 })
  res.redirect('/profile')
})

async function freshToken(sessionId) {
  const stored = TOKENS.get(sessionId)
  if (!stored) return undefined
  if (DEFECTS.has('expired-token-used') || Date.now() < stored.expiresAt - 1000) return stored.access_token
  if (!stored.refresh_token) return undefined
  const refreshed = await client.refreshTokenGrant(config, stored.refresh_token)
  const refreshToken = DEFECTS.has('old-refresh-token') ? stored.refresh_token : refreshed.refresh_token
  TOKENS.set(sessionId, {
    ...refreshed,
    refresh_token: refreshToken || stored.refresh_token,
    expiresAt: Date.now() + (refreshed.expiresIn() ?? 3600) * 1000,
  })
  return refreshed.access_token
}

app.get('/profile', async (req, res) => {
  let accessToken
  try {
    accessToken = await freshToken(req.session.id)
  } catch {
    accessToken = undefined // the refresh was refused: sign in again
  }
  if (!accessToken) return res.redirect('/login')
  const answer = await client.fetchProtectedResource(config, accessToken, new URL(`${API}/v1/me`), 'GET')
  // expired-token-used: the refusal of its expired token shown, never renewed
  if (answer.status === 401 && DEFECTS.has('expired-token-used')) {
    return page(res, `<p>The Visma API refused the call: ${escape(await answer.text())}</p>`, 502)
  }
  if (answer.status === 401) return res.redirect('/login')
  page(res, `<p id=signed-in>Signed in. The Visma API says: ${escape(await answer.text())}</p>`)
})

app.listen(PORT, '127.0.0.1')
