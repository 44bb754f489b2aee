@app-side
Feature: The application validates the authorization server's certificate
  RFC 6749 section 10.9: "The client MUST validate the authorization server's TLS certificate as
  defined by [RFC6125] and in accordance with its requirements for server identity authentication."
  An application that turns the check off (requests' verify=False, on a call or a Session, Node's
  NODE_TLS_REJECT_UNAUTHORIZED=0, mod_auth_openidc's OIDCSSLValidateServer Off) sends its client
  secret and codes to whoever answers in the server's name.

  @rule:APPC-33 @severity:critical @rfc:RFC6749-10.9
  Scenario: APPC-33 A certificate no trusted authority signed is refused
    Where the stand-in serves HTTPS (issuer.tls: true), the suite uses the application once more, on
    its own, while the stand-in presents a second certificate: the same key and names, signed by an
    authority made for this run that nobody trusts (to a sign-in from its authorization request on,
    to a service's run from its start). The suite's browser, the user's agent, never meets it: its
    connections keep the stand-in's own certificate, so only the application's own connections can
    refuse it: its server's for a web application, its command's for a service. The application meets it as in
    production: launched again for this use (drive.launch), and a service's command run, without
    REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, which make requests validate where a Session's verify
    is False, the stand-in's authority in its default trust store instead. A request of the
    application that arrives over such a connection fails the rule; a handshake the application
    broke off, and no such request, passes it. The stand-in serves the Visma API on the authorization
    server's host and certificate: a request that reached it there (a service that kept its token from
    an earlier run calls only the API) is named as the API's, under RFC 6750 section 5.3's sentence on
    protected resources. A single-page application's connections are the browser's: not applicable.

    Given the application has been used as a user would, over HTTPS
    When the stand-in presents a certificate no trusted authority signed while the application is used
    Then the application sent the stand-in nothing over a connection with that certificate
