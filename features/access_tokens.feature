@doc:service-integrations
Feature: Access tokens
  Visma Connect's access tokens are JWTs signed RS256 with a key the issuer publishes (the token
  response's sample access_token "eyJhbGciOiJSUzI1NiIs..." is one), carrying iss, client_id, scope,
  aud, nbf and exp (visma-connect-facts.md). A server is checked for this whatever the grant; an
  environment whose tokens are opaque declares `expectations.access_token_format: opaque`.

  @rule:AT-01 @severity:critical @doc:service-integrations#token-response @rfc:RFC9068-2.1 @rfc:RFC9068-2.2 @rfc:RFC6749-5.1 @rfc:RFC7519-4.1.4 @rfc:RFC7519-4.1.5
  Scenario Outline: AT-01 The <role> app's access token is a signed JWT that agrees with its token response
    Given the "<role>" client of the environment
    And the environment issues JWT access tokens
    When the client gets an access token by <flow>
    Then the token request succeeds
    And the access token is a JWT signed with a key from the issuer's JWKS
    And the access token has the typ, the claims and the times of RFC 9068 section 2
    And the access token's claims agree with the client and its token response

    Examples:
      | role    | flow                    |
      | service | client_credentials      |
      | web     | the authorization code  |
