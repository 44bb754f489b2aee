@app-side @doc:interactive-integrations
Feature: What an interactive application sends to Visma Connect
  The suite plays Visma Connect: it signs in through the application twice, as a user would, and
  reads every request the application sent. "Step 1: Authorization request" lists what the
  request carries; RFC 9700 (OAuth 2.0 Security Best Current Practice) says why.

  Background:
    Given the application has signed in twice through the stand-in

  @rule:APPC-01 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-4.1.1 @rfc:RFC6749-3.3
  Scenario: APPC-01 The application asks for an authorization code
    For its registered client: Visma Connect knows the application by the client_id it registered,
    which the application file names (application.client_id); a request naming another client is
    refused before any code is issued, and every rule that needs a sign-in is blocked by this one.
    Its scope is a list of space-delimited strings ("scope=openid email profile"): scopes joined
    with commas, as npm grant does by default, are one unknown scope, refused with invalid_scope.
    Then every authorization request asks for response_type "code"
    And every authorization request names the registered client_id
    And every authorization request's scope is a space-delimited list

  @rule:APPC-34 @severity:normal @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.2.1
  Scenario: APPC-34 Every authorization request of an interactive application asks for openid
    Visma Connect's example authorization request asks for it (scope=openid+email+profile), and the
    facts gathered beside the pages (visma-connect-facts.md) say that scope openid is required on
    interactive flows, marked as Visma's documentation but with no sentence quoted; the pages' list
    of common parameters does not name scope, and OpenID Connect Core 1.0 section 3.1.2.1 binds only a
    request that is an OpenID Connect request. So an application that asks without openid (an
    OAuth-only one: it gets no ID token, and APPC-21 is not applicable) is warned, not failed. A scope
    whose values are joined with commas is APPC-01's failure: it is read here as the values it joins.
    Then every authorization request asks for openid

  @rule:APPC-02 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:RFC9700-2.1 @rfc:RFC8252-7.3 @rfc:RFC6749-3.1.2
  Scenario: APPC-02 The application uses exactly a registered redirect_uri
    Exactly, save the port of a native application's localhost redirection URI (http://127.0.0.1,
    http://[::1] or http://localhost): RFC 8252 section 7.3 makes the server take any port of a
    loopback IP redirect URI, and RFC 9700 section 2.1 exempts "port numbers in localhost
    redirection URIs of native apps" from exact matching, so an application registered as
    http://127.0.0.1/callback may listen on a port it gets from the system at each sign-in. Its host
    is matched exactly: localhost is not 127.0.0.1. APPC-35 warns of localhost itself. A redirect_uri
    with a fragment (@axa-fr/oidc-client's demo's http://host/#/callback) fails, registered in the
    application file or not: RFC 6749 section 3.1.2 forbids it, and the stand-in, as an authorization
    server keeping RFC 6749, shows the user an error and redirects nowhere (section 4.1.2.1), so every
    rule that needs a sign-in is blocked by this one.
    Then every request names a registered redirect_uri exactly

  @rule:APPC-35 @severity:normal @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:RFC8252-8.3
  Scenario: APPC-35 A native application's loopback redirect URI names an IP literal, not localhost
    RFC 8252 section 8.3: localhost functions "similarly to loopback IP redirects", yet "the use of
    localhost is NOT RECOMMENDED" (section 8.3 says why: the name may resolve elsewhere than the
    loopback interface, and the app may listen on another interface than the one the browser
    reaches). A SHOULD NOT, and the stand-in takes a native application's localhost redirect URI on
    any port as RFC 9700 section 2.1 lets a server do, so it is warned, not failed. Visma Connect's
    pages say nothing of localhost.
    Given the application is a "native" application
    Then no authorization request's redirect_uri names localhost

  @rule:APPC-03 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-10.12
  Scenario: APPC-03 Every authorization request carries a state
    Given the application relies on its state against CSRF
    Then every authorization request carries a state

  @rule:APPC-04 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-10.12
  Scenario: APPC-04 The state is unguessable (at least 64 bits)
    RFC 6749 section 10.12 binds the client: its CSRF binding value "MUST contain a non-guessable
    value"; NIST SP 800-63B section 7.1 asks at least 64 bits of entropy of a secret that binds a
    session. The 128 bits of RFC 6749 section 10.10 sit in the authorization server's paragraph:
    APPC-29 warns a state below them. Where the sign-ins carry a new PKCE challenge or nonce that the
    run could not show protects the callback or not (no code redeemed, APPC-21's nonce faults gave
    no evidence), a state below the bar could not be checked, not failed.

    Given the application relies on its state against CSRF
    Then every state carries at least 64 bits of entropy

  @rule:APPC-05 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC9700-4.7.1
  Scenario: APPC-05 Every sign-in uses a new state
    Given the application relies on its state against CSRF
    Then the two sign-ins used different states

  @rule:APPC-29 @severity:normal @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:RFC9700-2.1 @rfc:RFC6749-10.10
  Scenario: APPC-29 Every sign-in uses a new state of at least 128 random bits, even where PKCE or a nonce protects the callback
    RFC 9700 section 2.1 lets a client that uses PKCE rely on it against CSRF, and says the nonce
    protects OpenID Connect flows; only "otherwise" must the state be a one-time CSRF token. Client
    libraries such as express-openid-connect do so, and send the same encoded {"returnTo": ...} as
    state every time. Visma Connect's documentation asks for "secure state management to prevent
    CSRF attacks" without saying more, so such an application is warned, not failed (where neither
    protects the callback, APPC-03, APPC-04 and APPC-05 fail it). Only an unguessable value protects:
    a nonce, or the code_verifier behind an S256 challenge, new in each sign-in with at least the
    64 bits APPC-04 asks of a state; a nonce "acme-<time>" does not. A nonce counts only where the
    same run saw the application refuse APPC-21's nonce faults (id-token-nonce-wrong and
    id-token-nonce-missing); the stand-in itself checks the PKCE verifier. Whatever protects the
    callback, the state is warned below the 128 bits of RFC 6749 section 10.10 (to which section
    10.12 refers) and RFC 6819 section 5.1.4.2.2: a state of 16 letters and digits (95 bits) passes
    APPC-04 and is warned here.

    Given the sign-ins show what protects the application's callback
    Then every authorization request carries a state besides what protects the callback
    And the two sign-ins used different states besides what protects the callback
    And every state carries at least 128 random bits

  @rule:APPC-06 @severity:critical @doc:interactive-integrations#application-types @rfc:RFC9700-2.1.1 @rfc:RFC7636-4.1
  Scenario: APPC-06 SPA and native applications (and web applications that declare it) use PKCE
    Then every authorization request carries a PKCE code_challenge

  @rule:APPC-07 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC9700-2.1.1
  Scenario: APPC-07 The PKCE method is S256, never plain
    Then every code_challenge_method is "S256"

  @rule:APPC-22 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC7636-4.1 @rfc:RFC9700-2.1.1
  Scenario: APPC-22 Every sign-in uses a new PKCE code_challenge
    Then the two sign-ins used different code_challenges

  @rule:APPC-30 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.2.1 @rfc:OIDC-15.5.2 @rfc:RFC9700-2.1.1
  Scenario: APPC-30 Every sign-in that sends a nonce sends a new one
    A nonce is optional in the authorization code flow; one the application sends must be new and
    unguessable in each sign-in. A nonce that never changes (go-oidc's old example, "a super secret
    nonce") is known to anyone who starts a sign-in himself, so it neither mitigates replay nor
    protects the callback: the state is then judged as the callback's CSRF protection (APPC-03 to
    APPC-05), and a fresh random state passes them.
    Then the two sign-ins used different nonces

  @rule:APPC-08 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.5
  Scenario: APPC-08 The code_verifier matches the code_challenge
    Then every code_verifier matches its code_challenge

  @rule:APPC-23 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.2 @rfc:RFC6749-5.2
  Scenario: APPC-23 An authorization code is redeemed once
    The code redemptions of the two normal sign-ins are counted. Once the second has finished, its
    callback URL is loaded again in the same browser, as a user pressing reload on it does: a second
    token request with its code is a use of the code more than once, whatever the application
    answers the reload with (a callback that came as a form post or in the fragment is not loaded
    again).
    Then every authorization code is redeemed at most once

  @rule:APPC-09 @severity:blocker @doc:interactive-integrations#application-types @rfc:RFC6749-2.1
  Scenario: APPC-09 SPA and native applications send no client secret, anywhere
    Given the application is a "spa or native" application
    Then the application sends no client secret, in no request

  @rule:APPC-10 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-2.3.1
  Scenario: APPC-10 A web application authenticates at the token endpoint
    Given the application is a "web" application
    When the stand-in issues a short-lived access token and the application uses the API after it expired
    Then every token request authenticates the application with its secret

  @rule:APPC-14 @severity:normal @doc:interactive-integrations#application-types
  Scenario: APPC-14 Only web applications ask for offline_access
    The seed pages: "Only server-side web applications configured with offline_access can request
    refresh tokens"; docs.connect.visma.com says offline access works for Web and Native apps. Where
    Visma sources differ, the application file declares which its Visma Connect keeps
    (issuer.refresh_token_app_types, default [web]): a type it lists is not judged here.
    Given the application is a "spa or native" application
    Then no authorization request asks for offline_access

  @rule:APPC-15 @severity:critical @doc:interactive-integrations#application-types @rfc:RFC9700-4.14.2
  Scenario: APPC-15 After a rotation the application uses only the newest refresh token
    Given the application is a "web" application
    When the access token expires twice and the application uses the API after each expiry
    Then every refresh uses the newest refresh token
