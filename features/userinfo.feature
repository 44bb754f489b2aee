@doc:interactive-integrations
Feature: OpenID Connect sign-in: the userinfo endpoint
  The documentation's request asks for "openid email profile": the application reads the user's
  claims from the userinfo endpoint that discovery names (OpenID Connect Core 1.0 section 5.3),
  presenting the access token as a Bearer token (RFC 6750).

  # Only sub is required: the claims the profile and email scopes ask for are "Voluntary Claims"
  # (OpenID Connect Core section 5.4), which a server may leave out.
  @rule:UINFO-01 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-5.3.2
  Scenario: UINFO-01 Userinfo answers the access token with the ID token's subject
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    And the client calls userinfo with its access token
    Then userinfo answers with the ID token's sub

  @rule:UINFO-02 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6750-3 @rfc:OIDC-5.3.3
  Scenario: UINFO-02 Userinfo refuses a request without an access token
    Given the "web" client of the environment
    When the client calls userinfo without an access token
    Then userinfo refuses with HTTP 401 and a Bearer challenge

  @rule:UINFO-03 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC7009-2 @rfc:RFC6750-3.1
  Scenario: UINFO-03 Userinfo refuses an access token that was revoked
    Given the "web" client of the environment
    And the environment expects revoked access tokens to stop working
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    And the client calls userinfo with its access token
    Then userinfo accepts the access token
    When the client revokes its access token
    Then the revocation is answered with HTTP 200
    When the client calls userinfo with its access token
    Then userinfo refuses with HTTP 401 and a Bearer challenge
