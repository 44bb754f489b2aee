@app-side @doc:service-integrations
Feature: What a service application sends to Visma Connect
  "Service integrations" use the client credentials grant: a form-encoded token request with the
  application's client_id and client_secret, the scope, and tenant_id for tenant-based APIs.

  Background:
    Given the service application has fetched a token and called the API

  @rule:APPC-12 @severity:blocker @doc:service-integrations#token-request @rfc:RFC6749-4.4.2
  Scenario: APPC-12 The service sends a form-encoded client_credentials request with its credentials
    Then every token request is a form-encoded client_credentials request with the application's credentials

  @rule:APPC-13 @severity:critical @doc:service-integrations#request-parameters
  Scenario: APPC-13 The service names the tenant for tenant-based scopes
    A token request without scope is judged by the scopes Visma Connect grants it then, the application's
    registered ones (RFC 6749 section 3.3: "If the client omits the scope parameter when requesting
    authorization, the authorization server MUST either process the request using a pre-defined default
    value or fail the request indicating an invalid scope"; Visma's pages do not say which Visma Connect
    does: the stand-in answers as IdentityServer does by default, a client that asks for none gets its
    allowed scopes, the suite's reading, not a documented fact). A service that asks only for scopes of APIs that
    are not tenant-based is not judged here (not applicable).

    Then every token request for a tenant-based scope names the tenant
