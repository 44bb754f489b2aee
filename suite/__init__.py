"""The conformance suite's machinery: environments, HTTP, login methods, secrets and reports.

Feature files say what Visma Connect must do; `steps/` says how a rule is checked; this
package holds what several step modules share.
"""
