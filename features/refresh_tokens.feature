@doc:interactive-integrations
Feature: Refresh tokens
  "Only server-side web applications configured with offline_access can request refresh tokens
  to renew expired access tokens." "SPAs do not receive refresh tokens"; native apps, "like
  SPAs, [do] not typically utilize refresh tokens". Where Visma sources differ, the environment
  declares the reading it was configured with.

  @rule:RT-01 @severity:critical @doc:interactive-integrations#important-notes @rfc:RFC6749-6
  Scenario: RT-01 A web app with offline_access gets a refresh token that renews its access token
    Given the "web" client of the environment
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    Then the token request succeeds
    And a refresh token is issued
    When the client refreshes its access token
    Then the token request succeeds
    And the refresh returns a usable access token

  # Visma's one-time rotation keeps a used refresh token working for a 5-60 s grace period
  # (visma-connect-facts.md); the environment declares it (expectations.refresh_token_reuse_grace).
  @rule:RT-02 @severity:normal @doc:interactive-integrations#important-notes @rfc:RFC6749-6 @rfc:RFC6749-10.4
  Scenario: RT-02 Refresh tokens rotate as the environment declares
    Given the "web" client of the environment
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    And the client refreshes its access token
    Then the token request succeeds
    And the refresh token is rotated or reused as the environment declares

  @rule:RT-03 @severity:critical @doc:interactive-integrations#application-types
  Scenario: RT-03 A web app without offline_access gets no refresh token
    Given the "web" client of the environment
    When the user authorizes the client without PKCE and without offline_access
    And the client redeems the code
    Then the token request succeeds
    And no refresh token is issued

  # Refusing offline_access for a client that may not have it (invalid_scope, RFC 6749 section
  # 4.1.2.1) is as good as granting the rest without a refresh token.
  @rule:RT-04 @severity:critical @doc:interactive-integrations#application-types
  Scenario: RT-04 An SPA gets no refresh token, even when it asks for offline_access
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier unless offline_access was refused
    Then no refresh token is issued, or offline_access was refused with "invalid_scope"

  @rule:RT-05 @severity:normal @doc:interactive-integrations#application-types
  Scenario: RT-05 A native app gets a refresh token only if the environment declares native apps eligible
    Given the "native" client of the environment
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier unless offline_access was refused
    Then a refresh token is issued only if the environment declares "native" apps eligible

  @rule:RT-06 @severity:critical @doc:interactive-integrations#important-notes @rfc:RFC6749-6 @rfc:RFC6749-5.2
  Scenario: RT-06 A refresh token works only for the client it was issued to
    Given the "web" client of the environment
    And the "other_web" client of the environment as the other client
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    And the other client refreshes with the client's refresh token
    Then the token request is refused with "invalid_grant"

  @rule:RT-07 @severity:critical @doc:interactive-integrations#important-notes @rfc:RFC6749-6 @rfc:RFC6749-5.1 @rfc:RFC6749-3.3
  Scenario: RT-07 The refresh token response is JSON, not cached, Bearer, with its lifetime and scope
    Given the "web" client of the environment
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    And the client refreshes its access token
    Then the token request succeeds
    And the token response is JSON
    And the token response has "Cache-Control: no-store"
    And the token type is "Bearer"
    And "expires_in" is the lifetime the environment expects
    And the granted scope, if named, is a list of space-delimited scopes

  # RFC 6749 section 5.1 leaves scope out of a response when it equals the request: where it is named,
  # and in a JWT access token's scope claim, it may name nothing the user did not grant. A refresh asking
  # for more is refused (invalid_scope) or answered with a scope that leaves it out: named no scope, it was
  # granted the one it asked for.
  @rule:RT-08 @severity:critical @doc:interactive-integrations#important-notes @rfc:RFC6749-6 @rfc:RFC6749-5.1
  Scenario: RT-08 A refresh does not widen the scope originally granted
    Given the "web" client of the environment
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    And the client refreshes its access token
    Then the token request succeeds
    And the refresh grants no scope beyond the one originally granted
    When the client refreshes asking for a scope not originally granted
    Then the refresh is refused with "invalid_scope" or grants no scope beyond the one originally granted
