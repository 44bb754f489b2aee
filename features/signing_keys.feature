@doc:discovery
Feature: The issuer's signing keys
  Visma's facts: "always resolve endpoints and the JWKS from discovery". The JWK Set that jwks_uri
  names is what every client validates ID tokens and access tokens with, so it holds public keys
  only, one for each algorithm discovery advertises, told apart by their kid.

  @rule:KEY-01 @severity:blocker @doc:discovery#ProviderMetadata @rfc:RFC7519-11 @rfc:OIDCDISCOVERY-3
  Scenario: KEY-01 The issuer's JWKS publishes no private or symmetric key
    When the issuer's JWKS is read
    Then it holds only public keys, none of them symmetric

  @rule:KEY-02 @severity:critical @doc:discovery#ProviderMetadata @rfc:OIDC-10.1 @rfc:RFC7517-4.5
  Scenario: KEY-02 The issuer's JWKS has a key for each advertised algorithm, told apart by kid
    When the issuer's JWKS is read
    Then each advertised signing algorithm has a key, and several keys have distinct kids
