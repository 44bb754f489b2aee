"""The conformance suite's machinery, in parts that import only downwards:

    run (python -m suite.run), matrix
    reports     the record, its seal and everything made from it
    wire        HTTP, login methods, requests to the server under test
    verdict     checks, blocking, selection, exit codes
    configuration   environment files, waivers, the rule catalogue
    secrets     the scrubber

Feature files say what Visma Connect must do; `steps/` says how a rule is checked; this
package holds what the step modules and the application side (`appside/`) share.
"""
