@doc:interactive-integrations
Feature: The consent step
  "(Optional) Users may be prompted to approve the application access request." When the server
  asks and the user refuses, the application learns it on its redirect URI: RFC 6749 section
  4.1.2.1 names the error access_denied, and no code is issued.

  @rule:CONS-01 @severity:critical @doc:interactive-integrations#step-2-user-consent @rfc:RFC6749-4.1.2.1
  Scenario: CONS-01 A user who denies consent is sent back with access_denied, the original state and no code
    Given the "web" client of the environment
    When the user signs in and denies consent
    Then the browser is sent to the registered redirect_uri with error "access_denied" and the original state
