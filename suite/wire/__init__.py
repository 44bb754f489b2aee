"""Wire: everything that talks to the server under test: the HTTP client with its record and credential
policy, login methods and the browser, authorization and token requests, PKCE, JWTs, the server's
discovery, and the embedded sandbox's start. Uses verdict, configuration and secrets."""
