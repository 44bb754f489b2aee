@doc:discovery
Feature: Discovery document
  The suite reads every endpoint from the issuer's discovery document, as Visma's facts advise
  ("always resolve endpoints and the JWKS from discovery"). These rules check the document itself.

  @rule:DISC-01 @severity:blocker @doc:discovery#ProviderConfigurationValidation @rfc:RFC8414-3.3
  Scenario: DISC-01 The discovery document names exactly the configured issuer
    When the discovery document is read
    Then its issuer is exactly the environment's issuer

  @rule:DISC-02 @severity:critical @doc:discovery#ProviderMetadata @rfc:RFC8414-2
  Scenario: DISC-02 The discovery document lists the documented endpoints
    When the discovery document is read
    Then it lists these endpoints on the issuer's host at the expected paths
      | endpoint               |
      | authorization_endpoint |
      | token_endpoint         |
      | userinfo_endpoint      |
      | revocation_endpoint    |
      | introspection_endpoint |
      | jwks_uri               |

  @rule:DISC-03 @severity:critical @doc:discovery#ProviderMetadata @rfc:RFC8414-2 @rfc:RFC7636-4.2
  Scenario: DISC-03 The discovery document advertises PKCE with S256
    When the discovery document is read
    Then its "code_challenge_methods_supported" includes "S256"

  @rule:DISC-04 @severity:normal @doc:discovery#ProviderMetadata @rfc:RFC8414-2
  Scenario Outline: DISC-04 The discovery document advertises the documented grant type <grant_type>
    When the discovery document is read
    Then its "grant_types_supported" includes "<grant_type>"

    Examples:
      | grant_type         |
      | authorization_code |
      | client_credentials |
      | refresh_token      |

  @rule:DISC-05 @severity:normal @doc:discovery#ProviderMetadata @rfc:RFC8414-2
  Scenario Outline: DISC-05 The discovery document advertises client authentication by <method>
    When the discovery document is read
    Then its "token_endpoint_auth_methods_supported" includes "<method>"

    Examples:
      | method              |
      | client_secret_post  |
      | client_secret_basic |

  @rule:DISC-06 @severity:critical @doc:discovery#ProviderMetadata @rfc:OIDCDISCOVERY-3 @rfc:RFC8414-2
  Scenario: DISC-06 The discovery document holds every member OpenID Connect Discovery requires
    When the discovery document is read
    Then it holds every REQUIRED member with its type, RS256 and the openid scope

  @rule:DISC-07 @severity:normal @doc:discovery#ProviderConfigurationValidation @rfc:RFC8414-3.3
  Scenario: DISC-07 The RFC 8414 metadata, where it is served, names the same issuer
    When the discovery document is read
    Then the RFC 8414 document, where one is served, names the same issuer
