@doc:interactive-integrations
Feature: Application types
  "Server-Side Web Applications [...] Can use traditional authorization_code flow with client
  secrets; PKCE is optional but enhances security." "client_secret: Required for server-side
  apps unless PKCE is used." SPAs and native apps have no secret.

  @rule:APP-01 @severity:critical @doc:interactive-integrations#application-types
  Scenario: APP-01 A server-side web app without PKCE redeems its code with its secret
    Given the "web" client of the environment
    When the user authorizes the client without PKCE
    And the client redeems the code
    Then the token request succeeds

  @rule:APP-02 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-3.2.1 @rfc:RFC6749-5.2
  Scenario: APP-02 A server-side web app without PKCE cannot redeem its code without its secret
    Given the "web" client of the environment
    When the user authorizes the client without PKCE
    And the client redeems the code without its secret
    Then the token request is refused with "invalid_client"

  @rule:APP-03 @severity:normal @doc:interactive-integrations#application-types
  Scenario: APP-03 A server-side web app may use PKCE together with its secret
    Given the "web" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier
    Then the token request succeeds

  # "client_secret: Required for server-side apps unless PKCE is used." Visma lets an app switch
  # PKCE on or off, so the environment declares which its web app does.
  @rule:APP-04 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-5.2
  Scenario: APP-04 A server-side web app using PKCE redeems its code without its secret where the environment says so
    Given the "web" client of the environment
    And the environment expects a web app's PKCE code without its secret to be accepted
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier but without its secret
    Then the token request succeeds

  @rule:APP-04 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-3.2.1 @rfc:RFC6749-5.2
  Scenario: APP-04 A server-side web app using PKCE cannot redeem its code without its secret where the environment says so
    Given the "web" client of the environment
    And the environment expects a web app's PKCE code without its secret to be refused
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier but without its secret
    Then the token request is refused with "invalid_client"
