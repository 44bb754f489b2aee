@app-side @doc:interactive-integrations
Feature: What an application must refuse
  The stand-in answers one sign-in wrongly on purpose. The application fails the rule for what it
  does with the faulty response: it shows that the user signed in, redeems the faulty callback's
  code, or calls the API with the faulty token response's tokens. The absence of those within the
  settle time is the evidence, and it counts only where a normal sign-in of the same application
  does redeem its code (and, for an ID token, shows its signed-in marker or calls the API); where
  nothing can tell, the rule could not be checked, which is no pass. A new sign-in the application
  starts instead (a new authorization request, as passport-openidconnect's failureRedirect to its
  login does) is a refusal: the watch ends there, and nothing that new sign-in leads to counts.

  @rule:APPC-16 @severity:blocker @doc:interactive-integrations#step-3-authentication-response @rfc:OIDC-3.1.2.7 @rfc:RFC6749-4.1.2 @rfc:RFC6749-10.12
  Scenario: APPC-16 A callback with a different state is refused
    OpenID Connect Core 1.0 section 3.1.2.7: "the Client MUST validate the response according to RFC
    6749, especially Sections 4.1.2 and 10.12", and RFC 6749 section 4.1.2 has the response's state be
    "The exact value received from the client" whenever the request carried one. RFC 9700 section 2.1,
    which lets PKCE or a nonce protect the callback instead of the state (APPC-03 to APPC-05 then do
    not apply), says what must protect the callback against CSRF, not how a client validates the
    response it receives: an OpenID Connect client that sends a state must validate the response's
    state, whatever else protects the callback. An application that sends no state is not judged here.
    An OAuth 2.0 client (one that neither asks for nor registers openid) is not bound by OpenID Connect
    Core: RFC 6749 section 10.12 has it "implement CSRF protection for its redirection URI", and says it
    "SHOULD utilize the "state" request parameter" for it. Where only its state can protect the callback
    it must compare it, and fails; where a new PKCE challenge protects it, RFC 9700 section 2.1's "MAY
    rely on the CSRF protection provided by PKCE" applies, and the rule does not (as APPC-03 to APPC-05).

    Given a normal sign-in of the application redeems its code
    And the application sends a state
    And the application must validate the state it sends
    When the stand-in answers a sign-in with the fault "callback-state-wrong"
    Then the stand-in's callback carried the fault
    And the application does not show that the user signed in
    And the application does not call the Visma API
    And the application redeems no code

  @rule:APPC-17 @severity:blocker @doc:interactive-integrations#step-3-authentication-response @rfc:OIDC-3.1.2.7 @rfc:RFC6749-4.1.2 @rfc:RFC6749-10.12
  Scenario: APPC-17 A callback without state is refused
    As APPC-16: OpenID Connect Core 1.0 section 3.1.2.7 has the client validate the response by RFC
    6749 section 4.1.2, where state is "REQUIRED if the "state" parameter was present in the client
    authorization request". A response without it is invalid for a client that sent one, even where a
    new PKCE challenge and a new nonce protect the callback: RFC 9700 section 2.1's "Clients that have
    ensured that the authorization server supports PKCE MAY rely on the CSRF protection provided by
    PKCE" (which APPC-03 to APPC-05 follow) frees a client from relying on its state, not an OpenID
    Connect client from validating the response it receives. An application that sends no state is
    not judged here, and an OAuth 2.0 client whose callback a new PKCE challenge protects neither (as
    APPC-16).

    Given a normal sign-in of the application redeems its code
    And the application sends a state
    And the application must validate the state it sends
    When the stand-in answers a sign-in with the fault "callback-state-missing"
    Then the stand-in's callback carried the fault
    And the application does not show that the user signed in
    And the application does not call the Visma API
    And the application redeems no code

  @rule:APPC-31 @severity:critical @doc:interactive-integrations#step-3-authentication-response @rfc:RFC9700-2.1.1 @rfc:RFC6749-10.12
  Scenario: APPC-31 Another browser's callback delivered to this one is refused (login CSRF)
    The suite signs in through the application in a second browser, the attacker's, and holds the
    stand-in's answer on its way to the application's callback: a code issued for that browser's
    authorization request (its code_challenge, its nonce) and its state. It then starts the
    application's sign-in in the first browser, the victim's, leaves it at the stand-in's login page,
    and delivers the held callback there, as a link an attacker gives his victim. Whatever protects
    the callback, state, PKCE or nonce, RFC 9700 section 2.1.1 has it "securely bound to the client
    and the user agent in which the transaction was started": an application that checks the state
    against this browser's session refuses it, one whose verifier or nonce is this browser's has the
    redemption refused or the ID token fail; one that looks everything up by the state alone (a
    server-wide table of states, verifiers and nonces) signs the victim in as the attacker. A
    redemption the stand-in refused, or an ID token the application refused, is no acceptance: what
    counts is the signed-in page, or the Visma API called with the tokens of that code. Where both
    browsers' authorization requests carry the same state, code_challenge and nonce (or none),
    nothing tells them apart, and APPC-03 or APPC-05 judges the state.

    Given a normal sign-in of the application redeems its code
    When the stand-in answers a sign-in with the fault "callback-of-other-browser"
    Then the stand-in's callback carried the fault
    And the application does not show that the user signed in
    And the application does not call the Visma API
    And a normal sign-in shows what accepting looks like

  @rule:APPC-18 @severity:normal @level:warning @doc:interactive-integrations#step-3-authentication-response @rfc:RFC9207-2.4
  Scenario: APPC-18 A callback whose iss names another issuer is refused (RFC 9207 is advertised)
    RFC 9207 section 2.4's comparison binds "clients that support this specification"; the others
    "MUST ignore the unrecognized iss parameter", and client libraries such as mozilla-django-oidc
    do. Neither Visma Connect's documentation nor RFC 9700 asks an application of one issuer to
    support it (mix-up attacks need two), so, as with APPC-25, an application that accepts the
    response is warned, not failed. The other issuer is this one with "/evil" after it: a
    comparison by prefix, by host or by containment accepts it, and only the "simple string
    comparison" section 2.4 asks for refuses it.

    Given a normal sign-in of the application redeems its code
    When the stand-in answers a sign-in with the fault "callback-iss-wrong"
    Then the stand-in's callback carried the fault
    And the application does not show that the user signed in
    And the application does not call the Visma API
    And the application redeems no code

  @rule:APPC-25 @severity:normal @level:warning @doc:interactive-integrations#step-3-authentication-response @rfc:RFC9207-2.4
  Scenario: APPC-25 A callback without iss is refused where the issuer advertises RFC 9207
    RFC 9207 section 2.4 binds "clients that support this specification", and says that the others
    "MUST ignore the unrecognized iss parameter" (RFC 6749 section 4.1.2); neither Visma Connect's
    documentation nor RFC 9700 asks an application of one issuer to support it (mix-up attacks need
    two). So an application that accepts the response is warned, not failed.

    Given a normal sign-in of the application redeems its code
    When the stand-in answers a sign-in with the fault "callback-iss-missing"
    Then the stand-in's callback carried the fault
    And the application redeems no code
    And the application does not call the Visma API

  @rule:APPC-19 @severity:normal @level:warning @doc:interactive-integrations#step-3-authentication-response @rfc:RFC6749-4.1.2.1
  Scenario: APPC-19 A declined sign-in (access_denied) shows an error and redeems nothing
    RFC 6749 section 4.1.2.1 defines the error the server sends; neither it nor Visma Connect's pages
    say what the application must answer. A crash (HTTP 5xx), a redemption attempt or the signed-in
    marker after a declined sign-in is what a user and an operator would not want to see, so it is
    reported as a warning, not as a failure. The status is the one the browser got, or the one the
    application's own access log gives its callback (its launched output, drive.output_file), where a
    server sent its page before it failed (Apache mod_auth_openidc 2.4 logs 500 after an error page).
    A form_post callback's line carries no state: a server error on a POST to the redirect URI in the
    log, which may be another sign-in's, leaves the rule not checked rather than passed.

    Given a normal sign-in of the application redeems its code
    When the stand-in answers a sign-in with the fault "access-denied"
    Then the stand-in's callback carried the fault
    And the application redeems no code
    And the application shows an error page, not a server error

  @rule:APPC-20 @severity:normal @level:warning @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-1.5 @rfc:RFC6750-3.1
  Scenario: APPC-20 An expired access token leads to a refresh or a new sign-in, not to a refused call
    RFC 6749 section 1.5: a new access token when the current one expires, by a refresh or, with no
    refresh token, a new sign-in. RFC 6750 section 3.1: a call refused with invalid_token (an expired
    token) is one the client MAY renew its token for and retry, so an expired token sent, refused, then
    renewed (a refresh, a new token, a new sign-in) and the call retried with a valid one passes (many
    libraries refresh on a 401). One that sends the expired token to the Visma API or userinfo (in a
    header or a URL) and never renews it, or never gets through with the new one, leaves the user's call
    refused; no sentence binds the client to renew (section 1.5 describes, 3.1 allows), so it is warned,
    not failed. An expired access token the stand-in's API or userinfo received in another scenario's
    sign-ins (an application that keeps the token it first saw while its framework refreshes another sends
    it only once a refreshed token expires too, as in APPC-15's two expiries) is judged the same way, and
    the warning names that scenario's sign-in. A refresh, a new authorization request or a call with a
    valid token after the expiry is the evidence that it did not go on with the expired one, each said to
    have come before or after the expiry (a client may refresh ahead of it). Nothing asks it to go back to the API by
    itself after a new sign-in. Where it sends nothing after the expiry, the rule could not be checked. A service
    may keep its token until it expires: its first run is one before which it was given no token (its
    normal run, where that came first, or else a run once every token it was given before has
    expired), and it runs again once the token it holds after that run (given then, or kept and used
    then) has expired; a new token or a call with a valid one in that second run is the evidence. Where
    the application used no access token at the Visma API or userinfo in these runs and renewed none after
    the expiry (a service fetches a new token in every run, whatever it would do with an expired one),
    nothing shows what it does with an expired token: missing data (drive.command, or drive.use_api_url), unless drive.use_api_url answered an error (HTTP 4xx or 5xx) when opened after the expiry: the application broke on the right page, so the rule could not be checked, naming the status.

    When the stand-in issues a short-lived access token and the application uses the API after it expired
    Then the application does not go on with an expired access token
    And after the expiry it refreshed the token, signed in again or used the API with a valid token

  @rule:APPC-36 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:OIDC-3.1.3.5 @rfc:OIDC-3.1.3.7 @rfc:RFC6749-5.2
  Scenario: APPC-36 A refused token request signs no one in
    The stand-in refuses the application's redemption of the sign-in's code as a token endpoint refuses a
    code it will not redeem (RFC 6749 section 5.2: HTTP 400, invalid_grant), and spends the code. OpenID
    Connect Core 1.0 section 3.1.3.5 has the client validate the token response and, by section 3.1.3.7,
    the ID token in it: an error response carries no ID token, so nothing authenticated the user, and an
    application that shows the user signed in took an unauthenticated user for one. Showing an error,
    starting a new sign-in (a new authorization request, which ends the watch: nothing it leads to counts)
    or going to its home page signed out passes, whatever that page sends (an API call with a "Bearer
    null" of a signed-out page shows no user taken for signed in). An OAuth-only application (no openid asked) is bound by no sentence to refuse
    an identity it never asked for, and is not judged here (as APPC-21). No Visma sentence speaks of the
    token endpoint's errors; its Step 4 is where the refused request is sent.

    Given a normal sign-in of the application redeems its code
    And the application asks for openid
    When the stand-in answers a sign-in with the fault "token-request-refused"
    Then the stand-in refused the application's token request
    And the application does not show that the user signed in
    And a normal sign-in shows what accepting looks like

  @rule:APPC-21 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:OIDC-3.1.3.7
  Scenario Outline: APPC-21 An ID token that fails validation is refused
    OpenID Connect Core 3.1.3.7: the client MUST check iss (step 2), aud (3), exp (9) and, when it
    sent a nonce, that the ID token carries one and that it is the same (11): an ID token with
    another nonce or with none is refused; an application that sent no nonce is not judged on
    either. The other issuer is this one with "/evil" after it, which "MUST exactly match" refuses
    and a comparison by prefix, by host or by containment accepts. The aud must list the client's id itself: an aud that merely contains it (the id with
    "-evil" after it, or "x" before it) lists another audience, and an azp naming the client does
    not make it one. An exp 15 minutes old is beyond "some small leeway, usually no more than a few
    minutes" (section 2): a leeway of up to 10 minutes (angular-oauth2-oidc's default) passes.
    Whether an aud that lists the client beside others lists "additional audiences not trusted by
    the Client" only the client knows: not judged. Its signature it may leave to TLS server
    validation when the token comes straight from the token endpoint (step 6), as at Visma Connect
    (HTTPS); with a plain-HTTP stand-in (issuer tls: false) there is no TLS to rely on, and no run
    can tell a client that would rely on it from one that checks nothing, so a bad signature is no
    fault injected either way.
    What it must not do is use "the information that failed to validate": show the user signed in,
    or call the Visma API with that response's access token. A call to userinfo alone is no
    acceptance: no sentence forbids asking the issuer's userinfo endpoint before the ID token is
    checked (django-allauth does, then refuses the ID token), so it is no evidence either way.
    An OAuth-only application, one whose normal sign-in does not ask for the openid scope (whatever it
    registers), gets no ID token to validate, and is not judged here: Visma's pages require no openid
    (their sample request asks for it, no sentence does), and APPC-34 warns of it.

    Given a normal sign-in of the application redeems its code
    And the application asks for openid
    When the stand-in answers a sign-in with the fault "<fault>"
    Then the stand-in's token response carried the fault
    And the application does not show that the user signed in
    And the application does not call the Visma API with the access token of the faulty response
    And a normal sign-in shows what accepting looks like

    Examples:
      | fault                     |
      | id-token-iss-wrong        |
      | id-token-aud-wrong        |
      | id-token-aud-suffixed     |
      | id-token-aud-prefixed     |
      | id-token-aud-other-azp    |
      | id-token-expired          |
      | id-token-expired-recently |
      | id-token-nonce-wrong      |
      | id-token-nonce-missing    |
