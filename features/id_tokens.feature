@doc:interactive-integrations
Feature: OpenID Connect sign-in: the ID token
  The documentation's authorization request asks for "scope=openid+email+profile": the
  application signs the user in with OpenID Connect, so the token response carries an ID token
  (OpenID Connect Core 1.0 section 3.1.3.3) that the application validates as section 3.1.3.7
  says. Each scenario sends a fresh nonce.

  @rule:ID-01 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.3.3
  Scenario Outline: ID-01 The <role> app gets an ID token when it asks for openid
    Given the "<role>" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    Then the token request succeeds
    And the token response carries an ID token

    Examples:
      | role   |
      | web    |
      | spa    |
      | native |

  @rule:ID-02 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.3.7 @rfc:OIDC-10.1
  Scenario: ID-02 The ID token is signed with a key from the issuer's JWKS
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    Then the ID token's signature verifies with a key of the issuer's JWKS

  @rule:ID-03 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.3.7 @rfc:OIDC-2
  Scenario: ID-03 The ID token names the issuer, the client as its audience, the user and its times
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    Then the ID token's iss is exactly the issuer
    And the ID token's aud includes the client
    And the ID token's azp, if it has one, is the client
    And the ID token has a sub, and exp and iat around now

  @rule:ID-04 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.2.1
  Scenario: ID-04 The ID token carries the nonce the authorization request sent
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    Then the ID token's nonce is exactly the nonce that was sent

  @rule:ID-05 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.3.8 @rfc:OIDC-3.2.2.9
  Scenario: ID-05 The ID token's at_hash, when present, matches the access token
    Given the "web" client of the environment
    When the user signs in with openid and a nonce
    And the client redeems the code with the verifier
    Then the ID token's at_hash, if it has one, is the left half of the access token's hash

  # OpenID Connect Core section 12.2: a refresh response "might not contain an id_token"; where it
  # has one, it renews the original one.
  @rule:ID-06 @severity:normal @doc:interactive-integrations#important-notes @rfc:OIDC-12.2
  Scenario: ID-06 An ID token in a refresh response keeps the user, the audience and the sign-in time
    Given the "web" client of the environment
    When the user signs in with openid, a nonce and offline_access
    And the client redeems the code with the verifier
    And the client refreshes its access token
    Then the token request succeeds
    And the refresh response's ID token, if it has one, renews the original one
