@app-side @doc:interactive-integrations
Feature: Where the tokens and the client secret must not turn up
  An access token, a refresh token or a client secret that leaves the places it is meant for is
  as good as given away: URLs end up in histories, logs and Referer headers, pages in caches and
  screenshots, logs in every tool that reads them. The suite looks for each token the stand-in
  issued, and for the secret, in every encoding, in what it can see of the application.

  @rule:APPC-26 @severity:critical @rfc:RFC9700-4.3.2 @rfc:RFC6750-5.3 @rfc:RFC6749-10.4
  Scenario: APPC-26 Access and refresh tokens are never put in a URL
    The URLs of every request the stand-in (token endpoint, Visma API, userinfo) and the browser
    saw, the application's own pages included, in every sign-in the run made: the normal ones (and,
    where drive.use_api_url is set, a sign-in followed by its use of the Visma API), the refused and
    faulty ones, and the refreshes after an access token expired; every token the stand-in issued in
    any of them is looked for, and the failure names the sign-in. ID tokens are not looked for: an
    OpenID logout sends one as id_token_hint by design. The calls to the Visma API (or userinfo) are
    where a token is put in a URL above all (RFC 6750 section 2.3's access_token parameter): where the
    application made none, what else was read judges only part of the sentence, and the rule is missing
    data (drive.command, or drive.use_api_url), never a pass; a token found in a URL still fails it.

    Given the application has been used as a user would, and what it showed and sent was kept
    Then no access or refresh token appears in a URL

  @rule:APPC-27 @severity:critical @rfc:RFC6749-10.1 @rfc:RFC6749-10.3 @rfc:RFC6749-10.4
  Scenario: APPC-27 A web application sends neither its secret nor its tokens to the browser
    A web application is a confidential client: what the browser receives (pages, scripts, what its
    pages fetch, the page as its scripts leave it) is the user's. Every page of the application's
    origins the browser saw in every sign-in the run made is read, the refused and faulty ones too
    (an error page after access_denied or a refused ID token is a page), each credential looked for
    in every encoding, and in a page's text as the screenshot guard reads it: spread over several
    elements, spaced out or in other letter case. The failure names the sign-in and the page. A token
    the browser received in an address (a redirect to /invoices?access_token=..., a page URL) was
    sent to it, as RFC 6749 section 2.1 forbids, only because it was put in a URL: one cause, so
    APPC-27 is blocked by APPC-26 there, neither failed a second time nor passed. A SPA keeps its
    tokens in the browser by design and has no secret (APPC-09).

    Given the application is a "web" application
    And the application has been used as a user would, and what it showed and sent was kept
    Then no client secret, access or refresh token appears in what the application sent the browser

  @rule:APPC-28 @severity:critical @rfc:RFC6749-10.1 @rfc:RFC6749-10.3 @rfc:RFC6749-10.4
  Scenario: APPC-28 The application writes neither its secret nor its tokens to its output
    What the suite can see: a launched application's stdout and stderr (drive.launch), a service
    command's output, what the application wrote to drive.output_file during the run, and the browser
    console of its pages in the sign-ins the suite drives (a single-page application's log, which
    error-reporting tools collect). The secret and every token the stand-in issued in every sign-in
    the run made are looked for, the refused ones and the refreshes after an expiry too (a token a
    refused sign-in was issued is a real token), and the failure names the sign-in that token was
    issued in. Where it sees no output, the rule is missing data (drive.output_file),
    and the run incomplete. Codes and state are not looked for: a web server's access log has the
    callback's URL. Nor is an access-log line of a URL that leaks: APPC-26 (or APPC-11) names that.

    Given the application has been used as a user would, and what it showed and sent was kept
    Then no client secret, access or refresh token appears in the application's output

  @rule:APPC-32 @severity:critical @rfc:RFC6749-10.3 @rfc:RFC6749-10.4 @rfc:RFC6749-10.1 @rfc:RFC6750-5.3
  Scenario: APPC-32 The application sends its tokens and its secret only where they may go
    An access token goes only to the authorization server, the resource servers it is valid for and
    the client; a refresh token only to the authorization server and the client; the client secret
    nowhere else. Every request the application's pages and workers made, in every sign-in the run
    drove, to an origin other than the stand-in's (Visma Connect and the Visma API) and the
    application's own (the client: an SPA's own backend) is held by the suite's browser and never
    leaves; each is read, its URL, headers and body, for every token the stand-in issued and the
    client secret, in every encoding. A request elsewhere that carries none of them (an analytics
    beacon, a font from a CDN) is allowed: it is listed in the sign-in's attachment, and passes. And
    the stand-in's resource servers (the Visma API, the userinfo endpoint), where the access token
    goes, receive neither a refresh token nor the client secret, in URL, header or body: judged on their
    calls, so where the application made none the rule is missing data (drive.use_api_url), not a pass.
    A plaintext HTTP request to the stand-in's HTTPS port (http:// for the https issuer) fails it
    too, unread: whatever it carried crossed the network unencrypted.

    Given the application has been used as a user would, and what it showed and sent was kept
    Then no client secret, access or refresh token is sent to an origin other than the stand-in's and the application's own
