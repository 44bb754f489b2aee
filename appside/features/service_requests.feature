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
    Then every token request for a tenant-based scope names the tenant
