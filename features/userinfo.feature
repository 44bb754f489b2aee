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

  # A control call first: the token the server issued is accepted, so the refusal that follows is
  # the server telling a valid token from another one, not a userinfo endpoint that refuses everything.
  @rule:UINFO-04 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-7 @rfc:RFC6750-3 @rfc:OIDC-5.3
  Scenario Outline: UINFO-04 Userinfo refuses an access token that is not valid (<variant>)
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    And the client calls userinfo with its access token
    Then userinfo accepts the access token
    When the client calls userinfo with a <variant> access token
    Then userinfo refuses the token with a Bearer challenge

    Examples:
      | variant            |
      | made-up            |
      | tampered           |
      | client_credentials |

  # RFC 6750 section 3.1: the 401 and the error code are what a resource server SHOULD answer.
  @rule:UINFO-05 @severity:normal @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6750-3 @rfc:RFC6750-3.1
  Scenario: UINFO-05 Userinfo answers a made-up access token with HTTP 401 and error="invalid_token"
    Given the "web" client of the environment
    When the client calls userinfo with a made-up access token
    Then userinfo refuses the token with HTTP 401 and error="invalid_token"

  @rule:UINFO-06 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-5.3
  Scenario: UINFO-06 Userinfo answers POST as it answers GET
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    And the client calls userinfo with its access token by POST
    Then userinfo answers with the ID token's sub

  # The profile and email claims are Voluntary Claims (OpenID Connect Core section 5.4): a server
  # that leaves them out is warned about, the verdict stands.
  @rule:UINFO-07 @severity:minor @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-5.4
  Scenario: UINFO-07 Userinfo returns the profile and email claims the documented scope asks for
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    And the client calls userinfo with its access token
    Then userinfo returns the claims of the profile and email scopes that were asked for

  # The token must age its lifetime: it is got at the start of the run and this scenario runs last
  # (steps/access_token_expiry.py). The documented clients' tokens live 3600 s, so it runs only where
  # the environment declares a client registered with a short lifetime (clients.short_lived); elsewhere
  # it is not checked, which leaves no run incomplete (severity normal). How the refusal is shaped (the
  # 401 and error="invalid_token" RFC 6750 section 3.1 says a resource SHOULD answer) is UINFO-09's.
  @rule:UINFO-08 @severity:normal @slow @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-7 @rfc:RFC6750-3 @rfc:OIDC-5.3.3
  Scenario: UINFO-08 Userinfo refuses an access token that has expired
    Given an access token the "short_lived" client got at the start of the run, and userinfo's answer to it then
    Then userinfo accepted the access token when it was fresh
    When the access token's lifetime has passed since it was issued
    And the client calls userinfo with its access token
    Then userinfo refuses the token with a Bearer challenge

  # RFC 6750 section 3.1 names expiry among the causes of invalid_token, answered with a SHOULD:
  # warning level, with UINFO-08's token, wait and control.
  @rule:UINFO-09 @severity:normal @level:warning @slow @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6750-3 @rfc:RFC6750-3.1
  Scenario: UINFO-09 Userinfo answers an expired access token with HTTP 401 and error="invalid_token"
    Given an access token the "short_lived" client got at the start of the run, and userinfo's answer to it then
    Then userinfo accepted the access token when it was fresh
    When the access token's lifetime has passed since it was issued
    And the client calls userinfo with its access token
    Then userinfo refuses the token with HTTP 401 and error="invalid_token"
