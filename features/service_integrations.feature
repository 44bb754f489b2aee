@doc:service-integrations
Feature: Service integrations: the client_credentials grant
  "A Service Integration is designed for machine-to-machine integrations [...] These applications
  strictly make API calls and utilize the client_credentials OAuth2 grant type to acquire access
  tokens from the Authorization Server."

  Background:
    Given the "service" client of the environment

  @rule:SVC-01 @severity:blocker @doc:service-integrations#token-request @rfc:RFC6749-4.4.2
  Scenario: SVC-01 A token request in the documented form is granted
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And the token response is JSON

  @rule:SVC-02 @severity:normal @doc:service-integrations#token-request @rfc:RFC6749-2.3.1
  Scenario: SVC-02 A token request authenticated with HTTP Basic is granted
    When the client requests a token for its tenant with its credentials in HTTP Basic
    Then the token request succeeds

  @rule:SVC-03 @severity:critical @doc:service-integrations#token-response @rfc:RFC6750-4
  Scenario: SVC-03 The token response has token_type Bearer
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And the token type is "Bearer"

  @rule:SVC-04 @severity:normal @doc:service-integrations#token-response @rfc:RFC6749-5.1
  Scenario: SVC-04 The token response says how long the token lives
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And "expires_in" is the lifetime the environment expects

  @rule:SVC-05 @severity:normal @doc:service-integrations#token-response @rfc:RFC6749-5.1
  Scenario: SVC-05 The token response grants exactly the scope that was asked for
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And the granted scope is exactly the requested scope

  @rule:SVC-06 @severity:critical @doc:service-integrations#request-parameters
  Scenario: SVC-06 The access token is a signed JWT bound to the client and the requested tenant
    Given the environment has tenants
    And the environment issues JWT access tokens
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And the access token is a JWT signed with a key from the issuer's JWKS
    And the access token names the requested tenant

  @rule:SVC-07 @severity:critical @doc:service-integrations#token-response @rfc:RFC6749-5.1
  Scenario: SVC-07 Token responses are not cached
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And the token response has "Cache-Control: no-store"

  # A real secret, another client's: a server that checks only that the secret is one it issued lets
  # any client it registered act as any other (RFC 6749 section 4.4.2: it MUST authenticate *the* client).
  @rule:SVC-08 @severity:blocker @doc:service-integrations#request-parameters @rfc:RFC6749-5.2 @rfc:RFC6749-4.4.2 @rfc:RFC6749-3.2.1
  Scenario Outline: SVC-08 The service client authenticated with another client's secret is refused (<authentication>)
    Given another client of the environment with a secret of its own
    When the client requests a token with the other client's secret in <authentication>
    Then the token request is refused with "invalid_client"

    Examples:
      | authentication |
      | the form body  |
      | HTTP Basic     |

  # Its own secret with its letters' case changed is another secret: a server that compares secrets
  # case-insensitively authenticates a client by a secret it never issued. Skipped for a secret
  # without letters whose case can change.
  @rule:SVC-08 @severity:blocker @doc:service-integrations#request-parameters @rfc:RFC6749-5.2 @rfc:RFC6749-4.4.2 @rfc:RFC6749-3.2.1
  Scenario Outline: SVC-08 A wrong client secret is refused (<wrong_secret>, <authentication>)
    When the client requests a token with <wrong_secret> in <authentication>
    Then the token request is refused with "invalid_client"

    Examples:
      | wrong_secret                                  | authentication |
      | a made-up secret                              | the form body  |
      | a made-up secret                              | HTTP Basic     |
      | its own secret with its letters' case changed | the form body  |
      | its own secret with its letters' case changed | HTTP Basic     |

  @rule:SVC-09 @severity:critical @doc:service-integrations#request-parameters @rfc:RFC6749-5.2
  Scenario: SVC-09 An unknown client is refused
    When an unregistered client requests a token
    Then the token request is refused with "invalid_client"

  @rule:SVC-10 @severity:critical @doc:service-integrations#request-parameters @rfc:RFC6749-5.2
  Scenario: SVC-10 A tenant-based scope without tenant_id is refused
    Given the environment has tenants
    When the client requests a token without tenant_id
    Then the token request is refused with "invalid_request" or "invalid_tenant"

  @rule:SVC-11 @severity:critical @doc:service-integrations#request-parameters @rfc:RFC6749-5.2
  Scenario: SVC-11 A tenant whose administrator has not approved the application is refused
    Given the environment has tenants
    And the environment names a tenant that has not approved the client
    When the client requests a token for that tenant
    Then the token request is refused with "invalid_tenant" or "invalid_grant" or "unauthorized_client"

  # RFC 6749 section 3.3 lets a server grant less than asked, naming what it granted in `scope`.
  @rule:SVC-12 @severity:critical @doc:service-integrations#request-parameters @rfc:RFC6749-5.2 @rfc:RFC6749-3.3
  Scenario: SVC-12 A scope not granted to the client is refused
    Given the environment names a scope not granted to the client
    When the client requests a token for that scope
    Then the scope is refused with "invalid_scope" or left out of the granted scope

  # The request's only fault is its grant type: the refresh_token grant, which the server supports.
  @rule:SVC-13 @severity:normal @doc:service-integrations#service-integrations @rfc:RFC6749-5.2
  Scenario: SVC-13 A service client may use only client_credentials
    When the client uses the refresh_token grant
    Then the grant type is refused with "unauthorized_client" unless the made-up refresh token is judged first

  # A form without its parameters is invalid_request; a server that looks for the client's
  # credentials first finds none, which is invalid_client (RFC 6749 section 5.2).
  @rule:SVC-14 @severity:normal @level:warning @doc:service-integrations#token-request @rfc:RFC6749-4.4.2 @rfc:RFC6749-5.2
  Scenario: SVC-14 A token request with a JSON body instead of a form is refused
    When the client sends its token request as JSON
    Then the token request is refused with "invalid_request" or "invalid_client"

  @rule:SVC-18 @severity:normal @doc:service-integrations#token-response @rfc:RFC6749-4.4.3
  Scenario: SVC-18 A client_credentials token response carries no refresh token
    When the client requests a token for its tenant with its credentials in the form body
    Then the token request succeeds
    And the token response carries no refresh token

  @rule:SVC-15 @severity:blocker @doc:service-integrations#request-parameters @rfc:RFC6749-5.2
  Scenario: SVC-15 A token request with no client secret at all is refused
    When the client requests a token for its tenant without any client secret
    Then the token request is refused with "invalid_client"

  @rule:SVC-16 @severity:normal @doc:service-integrations#request-parameters @rfc:RFC6749-5.2
  Scenario: SVC-16 A token request with an unknown grant_type is refused
    When the client requests a token with grant_type "urn:example:unknown-grant"
    Then the token request is refused with "unsupported_grant_type"

  @rule:SVC-17 @severity:normal @doc:service-integrations#request-parameters
  Scenario: SVC-17 tenant_id is optional: a scope of an API that is not tenant-based is granted without it
    Given the environment has tenants
    And the environment names a scope that is not tenant-based
    When the client requests a token for that scope without tenant_id
    Then the token request succeeds
    And the granted scope includes that scope

  # The service client has no redirect URI to send a code to: whatever the server answers, no route
  # may lead the browser to the one the request names, and no code may be issued.
  @rule:SVC-19 @severity:critical @doc:service-integrations#key-characteristics @rfc:RFC6749-4.1.2.1
  Scenario: SVC-19 The service client cannot sign a user in at the authorization endpoint
    When the user authorizes the service client with PKCE and a redirect_uri of its own
    Then the server shows an error page and redirects the browser nowhere
