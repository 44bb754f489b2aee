@doc:interactive-integrations
Feature: Token revocation
  Discovery names a revocation_endpoint (RFC 7009), as Visma's does ("POST /connect/revocation",
  Visma facts). Revoking a refresh token ends it; revoking a token the server does not know is
  not an error (RFC 7009 section 2.2).

  @rule:REV-01 @severity:normal @doc:interactive-integrations#important-notes @rfc:RFC7009-2.2
  Scenario: REV-01 Revoking a token the server never issued is answered with HTTP 200
    Given the "web" client of the environment
    When the client revokes a token the server never issued
    Then the revocation is answered with HTTP 200

  @rule:REV-02 @severity:critical @doc:interactive-integrations#important-notes @rfc:RFC7009-2.1 @rfc:RFC6749-5.2
  Scenario: REV-02 A revoked refresh token no longer refreshes
    Given the "web" client of the environment
    And the server offers a revocation endpoint
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    And the client revokes its refresh token
    Then the revocation is answered with HTTP 200
    When the client refreshes its access token
    Then the token request is refused with "invalid_grant"

  # RFC 7009 section 2.1: the server verifies that the token was issued to the client revoking it. How
  # it answers another client (an error of section 2.2.1, or even HTTP 200) is its choice; the evidence
  # is the token: the owner's refresh still succeeds. REV-02 is the control: the owner's revocation ends it.
  @rule:REV-03 @severity:critical @doc:interactive-integrations#important-notes @rfc:RFC7009-2.1
  Scenario: REV-03 A client cannot revoke another client's refresh token
    Given the "web" client of the environment
    And the "other_web" client of the environment as the other client
    And the server offers a revocation endpoint
    When the user authorizes the client with PKCE and offline_access
    And the client redeems the code with the verifier
    And the other client revokes the client's refresh token
    Then the client's refresh token still refreshes
