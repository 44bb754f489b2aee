@doc:interactive-integrations
Feature: PKCE with S256
  "initiate the authorization request by generating a code_verifier and a code_challenge";
  "code_challenge (PKCE): BASE64-URL-encoded SHA256 hash"; SPAs and native apps rely on PKCE
  because they cannot keep a secret. Each scenario uses a fresh verifier of 43-128 unreserved
  characters.

  @rule:PKCE-01 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.6
  Scenario Outline: PKCE-01 The <role> app redeems its code with the right verifier
    Given the "<role>" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier
    Then the token request succeeds
    And the token type is "Bearer"

    Examples:
      | role   |
      | web    |
      | spa    |
      | native |

  # RFC 7636 section 4.6's comparison binds every method the server accepts: a plain challenge's
  # verifier is compared as it is. The plain row runs where the environment accepts plain
  # (expectations.plain_pkce), and is skipped where plain is refused (PKCE-07).
  @rule:PKCE-02 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.6
  Scenario Outline: PKCE-02 A wrong verifier is refused (<method>)
    Given the "spa" client of the environment
    And the environment accepts the <method> PKCE method
    When the user authorizes the client with <method> PKCE
    And the client redeems the code with another valid verifier
    Then the token request is refused with "invalid_grant"

    Examples:
      | method |
      | S256   |
      | plain  |

  # A missing required parameter is also invalid_request (RFC 6749 section 5.2).
  # Any error code: no sentence names one for a missing verifier (RFC 7636 section 4.6's invalid_grant is
  # for one that does not match). PKCE-09 judges the code, warning-level.
  @rule:PKCE-03 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.6
  Scenario Outline: PKCE-03 A missing verifier is refused (<role>)
    Given the "<role>" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code without a verifier
    Then the token request is refused

    Examples:
      | role |
      | spa  |
      | web  |

  # Warning-level: RFC 6749 section 5.2 defines invalid_request as a request "missing a required parameter"
  # and RFC 7636 section 4.6 names invalid_grant for a verifier that does not match, but no sentence requires
  # either for a missing verifier; Spring Authorization Server answers invalid_client (its public clients
  # authenticate by the verifier).
  @rule:PKCE-09 @severity:normal @level:warning @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.6 @rfc:RFC6749-5.2
  Scenario Outline: PKCE-09 A missing verifier's refusal says invalid_grant or invalid_request (<role>)
    Given the "<role>" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code without a verifier
    Then the refusal says "invalid_grant" or "invalid_request"

    Examples:
      | role |
      | spa  |
      | web  |

  @rule:PKCE-04 @severity:blocker @doc:interactive-integrations#application-types @rfc:RFC7636-4.4.1
  Scenario Outline: PKCE-04 The <role> app must send a code_challenge
    Given the "<role>" client of the environment
    And a control authorization of the client with S256 PKCE gets a code after sign-in
    When the user authorizes the client without PKCE
    Then the authorization is refused without a code

    Examples:
      | role   |
      | spa    |
      | native |

  @rule:PKCE-05 @severity:normal @level:warning @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.1 @rfc:RFC6749-5.2
  Scenario Outline: PKCE-05 A verifier that breaks RFC 7636's form is refused (<defect>)
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE using a verifier of <defect>
    And the client redeems the code with the verifier
    Then the token request is refused with "invalid_grant" or "invalid_request"

    Examples:
      | defect                                   |
      | 42 characters                            |
      | 129 characters                           |
      | 43 characters with one outside the set   |

  @rule:PKCE-06 @severity:normal @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC7636-4.6 @rfc:RFC9700-2.1.1 @rfc:RFC6749-5.2
  Scenario: PKCE-06 A verifier sent when no challenge was sent is refused
    Given the "web" client of the environment
    When the user authorizes the client without PKCE
    And the client redeems the code with a verifier nobody asked for
    Then the token request is refused with "invalid_grant" or "invalid_request"

  @rule:PKCE-07 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:RFC7636-4.2 @rfc:RFC7636-4.4.1
  Scenario: PKCE-07 The plain method is refused where the environment says so
    Given the "spa" client of the environment
    And the environment expects plain PKCE to be refused
    And a control authorization of the client with S256 PKCE gets a code after sign-in
    When the user authorizes the client with plain PKCE
    Then the authorization is refused without a code

  @rule:PKCE-07 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:RFC7636-4.2
  Scenario: PKCE-07 The plain method works where the environment accepts it
    Given the "spa" client of the environment
    And the environment expects plain PKCE to be accepted
    When the user authorizes the client with plain PKCE
    And the client redeems the code with the verifier
    Then the token request succeeds

  @rule:PKCE-08 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:RFC7636-4.3
  Scenario: PKCE-08 A code_challenge without a method is plain, and refused where plain is refused
    Given the "spa" client of the environment
    And the environment expects plain PKCE to be refused
    And a control authorization of the client with S256 PKCE gets a code after sign-in
    When the user authorizes the client with a code_challenge and no code_challenge_method
    Then the authorization is refused without a code

  @rule:PKCE-08 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:RFC7636-4.3
  Scenario: PKCE-08 A code_challenge without a method is plain, and works where plain is accepted
    Given the "spa" client of the environment
    And the environment expects plain PKCE to be accepted
    When the user authorizes the client with a code_challenge and no code_challenge_method
    And the client redeems the code with the verifier
    Then the token request succeeds
