@doc:interactive-integrations
Feature: Interactive integrations: the authorization request and its callback
  "Interactive integrations use the authorization code flow for secure authentication and access
  to Visma APIs." The user signs in with the environment's login method; the suite catches the
  redirect to the redirect_uri without running anything there.

  @rule:AUTH-01 @severity:blocker @doc:interactive-integrations#step-3-authentication-response @rfc:RFC6749-4.1 @rfc:RFC6749-4.1.2
  Scenario Outline: AUTH-01 After sign-in the <role> app lands on its registered redirect_uri with a code
    Given the "<role>" client of the environment
    When the user authorizes the client with PKCE
    Then the browser is sent to the registered redirect_uri with a code

    Examples:
      | role   |
      | web    |
      | spa    |
      | native |

  @rule:AUTH-02 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-4.1.2
  Scenario Outline: AUTH-02 The callback returns the state exactly as sent (<kind>)
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE and a <kind> state
    Then the callback carries exactly the state that was sent

    Examples:
      | kind                        |
      | simple                      |
      | 200-character               |
      | URL-encoding-needing        |

  @rule:AUTH-03 @severity:normal @doc:interactive-integrations#step-3-authentication-response @rfc:RFC9207-2
  Scenario: AUTH-03 The callback names the issuer when the server advertises RFC 9207
    Given the "spa" client of the environment
    And the discovery document advertises the iss authorization response parameter
    When the user authorizes the client with PKCE
    Then the callback's iss is exactly the issuer

  @rule:AUTH-03 @severity:normal @doc:interactive-integrations#step-3-authentication-response @rfc:RFC9207-2
  Scenario: AUTH-03 An error callback names the issuer too when the server advertises RFC 9207
    Given the "spa" client of the environment
    And the discovery document advertises the iss authorization response parameter
    When the user authorizes the client with PKCE and code_challenge_method "S512"
    Then the callback's iss is exactly the issuer

  @rule:AUTH-04 @severity:minor @doc:interactive-integrations#step-1-authorization-request
  Scenario: AUTH-04 An authorization request with ui_locales is served
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE and ui_locales "nb-NO en"
    Then the request with ui_locales is served with a code

  # Each registered redirect URI of the environment's clients, changed one way at a time (a change
  # that leaves it as registered tests nothing and is left out). The page's status is not judged:
  # RFC 6749 section 4.1.2.1 says nothing of it. What is judged is that no route the browser would
  # follow leads to the URI sent: a redirect, a Refresh header, a meta refresh, a form, a script.
  @rule:AUTH-11 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-3.1
  Scenario: AUTH-11 An authorization request with a parameter the server does not know is served
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE and an unknown parameter
    Then the request with an unknown parameter is served with a code

  # The web app's request, as a server-side app's page would send it: a form the browser submits, its
  # parameters form-encoded in the body and none in the query. The state and the PKCE challenge travel
  # only there, so the state coming back and the code redeemed with the verifier show the body was read.
  @rule:AUTH-12 @severity:normal @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.2.1
  Scenario: AUTH-12 The web app's authorization request sent by POST is served as by GET
    OpenID Connect Core section 3.1.2.1 says MUST, but Visma Connect's pages send every authorization
    request by GET, so no documented integration depends on POST; and the OpenID Foundation's own
    conformance suite reports a server without it as a warning (oidcc-ensure-post-request-succeeds).
    A server that does not serve it is warned, not failed.

    Given the "web" client of the environment
    When the user authorizes the client with PKCE, the request sent as a form POST
    Then the request sent by POST is served with a code and its state, and the code is redeemed with the verifier

  @rule:AUTH-05 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-4.1.2.1 @rfc:RFC6749-3.1.2.3 @rfc:RFC9700-2.1
  Scenario Outline: AUTH-05 An unregistered redirect_uri gets an error page, never a redirect (<variation>)
    When the user authorizes each client with PKCE and a redirect_uri that is its registered one <variation>
    Then for each, the server shows an error page and redirects the browser nowhere

    Examples:
      | variation                        |
      | with another scheme              |
      | on another host                  |
      | on a subdomain                   |
      | on another port                  |
      | with a sub-path                  |
      | with the parent path             |
      | with the trailing slash toggled  |
      | with an added query              |
      | with a changed query             |
      | with a fragment                  |
      | in upper case                    |
      | with a percent-encoded character |
      | with a user@ before the host     |
      | with dot segments                |

  @rule:AUTH-10 @severity:critical @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.2.1 @rfc:OIDC-3.1.2.2 @rfc:RFC6749-4.1.2.1
  Scenario: AUTH-10 An OpenID authorization request without redirect_uri gets an error page, never a redirect
    Given the "spa" client of the environment
    When the user authorizes the client with openid, a nonce and no redirect_uri
    Then the server shows an error page and redirects the browser nowhere, not even to the registered redirect_uri

  # The examples are errors the standards require to be redirected. An unknown scope is not one:
  # RFC 6749 section 3.3 lets a server ignore scopes it does not know. A response_type the client
  # may not use is unauthorized_client as well as unsupported_response_type, or invalid_request ("an
  # invalid parameter value"), all three in section 4.1.2.1.
  @rule:AUTH-06 @severity:normal @doc:interactive-integrations#step-3-authentication-response @rfc:RFC6749-4.1.2.1 @rfc:RFC7636-4.4.1
  Scenario Outline: AUTH-06 A redirected authorization error carries error and the original state (<case>)
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE and <case>
    Then the browser is sent to the registered redirect_uri with error <errors> and the original state

    Examples:
      | case                                   | errors                                                                    |
      | response_type "token"                  | "unsupported_response_type" or "unauthorized_client" or "invalid_request" |
      | code_challenge_method "S512"           | "invalid_request"                                                         |

  # RFC 6749 section 4.1.2.1: without a valid client_id the redirect_uri cannot be verified, so
  # the server informs the user instead of redirecting.
  @rule:AUTH-07 @severity:blocker @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-4.1.2.1
  Scenario: AUTH-07 An unknown client_id gets an error page, never a redirect
    Given the "spa" client of the environment
    When the user authorizes an unregistered client_id with PKCE and the client's redirect_uri
    Then the server shows an error page and redirects the browser nowhere

  @rule:AUTH-08 @severity:normal @doc:interactive-integrations#step-1-authorization-request @rfc:RFC6749-4.1.2.1
  Scenario: AUTH-08 An authorization request without response_type is refused without a code
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE and no response_type
    Then the server shows an error page, or redirects to the registered redirect_uri with "invalid_request" or "unsupported_response_type" and the original state

  @rule:AUTH-09 @severity:minor @level:warning @doc:interactive-integrations#step-1-authorization-request @rfc:OIDC-3.1.2.1
  Scenario: AUTH-09 The login page speaks the language ui_locales asks for, where the server offers it
    Given the "spa" client of the environment
    And the discovery document offers a user interface language other than English
    When the login page is opened with ui_locales naming that language first
    Then the login page declares that language
