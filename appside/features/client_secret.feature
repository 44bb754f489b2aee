@app-side @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens
Feature: Where the client secret goes
  Web and service applications have a client secret. RFC 6749 section 2.3.1: client credentials
  "MUST NOT be included in the request URI"; URLs end up in logs, browser histories and Referer
  headers.

  Background:
    Given the application has been used as a user would

  @rule:APPC-11 @severity:blocker @rfc:RFC6749-2.3.1
  Scenario: APPC-11 The client secret is never put in a URL
    Every request of every sign-in (or service run) the run has made is read: the normal ones, the
    refused and faulty ones, and the refreshes after an access token expired. The failure names the
    sign-in.

    Then the client secret appears in no URL
    And the client secret appears in no URL the browser opened

  @rule:APPC-24 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-2.3
  Scenario: APPC-24 A request authenticates the application in one way only
    When the application renews an expired access token, where the suite can make it
    Then no request carries the client secret in two ways
