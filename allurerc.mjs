// Allure 3 configuration for suite/reports/allure_report.mjs (run by `python -m suite.run` and `make report`)
// and for `allure generate` (`make certify-app`).
// The report keeps its history in history.jsonl beside it, so nightly runs show trends.
// CONFORMANCE_REPORTS: the run's reports folder (default reports). suite/reports/html_report.py writes
// the report and the history aside (CONFORMANCE_REPORT_OUTPUT, CONFORMANCE_HISTORY) and moves them
// into place once whole: a full disk never leaves a cut-off report or history that looks whole.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { defineConfig } from "@allurereport/plugin-api";

const reports = process.env.CONFORMANCE_REPORTS || "reports";

const record = (() => {
  try {
    return JSON.parse(readFileSync(`${reports}/compliance.json`, "utf-8"));
  } catch {
    return null; // no run yet: the report is still generated, without the run's variables
  }
})();

// One history per environment (a run with sandbox defects on is another one), so a failure against
// staging never marks a production rule as flaky. suite/reports/allure_results.py labels every result.
// Allure takes letters, digits, "_" and "-" in an id: an application's record names its environment
// "application reference-web (web)".
// An id has at most 64 characters: a longer one (an application's client id of 50 characters and more, e.g.
// one full of shell metacharacters) made `allure generate` refuse the configuration, and no report was made.
// Cut, it ends with a digest of the whole name, so that two long names stay two histories.
const asId = (name) => {
  const id = name.replace(/[^A-Za-z0-9_-]+/g, "-");
  return id.length <= 64 ? id : `${id.slice(0, 51)}-${createHash("sha256").update(name).digest("hex").slice(0, 12)}`;
};
const environmentId = record ? asId(`${record.environment}${record.sandbox_defects?.length ? "-with-defects" : ""}`) : null;

export default defineConfig({
  name: process.env.CONFORMANCE_REPORT_NAME || (record ? `${record.verdict.toUpperCase()}: Visma Connect conformance of ${record.environment}` : "Visma Connect conformance"),
  output: process.env.CONFORMANCE_REPORT_OUTPUT || `${reports}/allure-report`,
  historyPath: process.env.CONFORMANCE_HISTORY || `${reports}/history.jsonl`,
  historyLimit: 60,
  variables: record
    ? {
        Environment: record.environment,
        Issuer: record.issuer,
        "Suite version": record.suite_version,
        Verdict: record.verdict,
      }
    : {},
  environments: environmentId
    ? {
        [environmentId]: {
          name: environmentId,
          matcher: ({ labels }) => labels.some((l) => l.name === "conformance_environment" && asId(l.value) === environmentId),
        },
      }
    : {},
  hideLabels: ["conformance_environment", "host", "thread", "framework", "language"],
  categories: {
    rules: [
      {
        // before "Non-conformance": the first category that matches takes the result
        name: "Warning: a warning-level rule failed (the verdict stays conformant)",
        matchers: { statuses: ["failed"], message: /^Warning: / },
      },
      {
        name: "Non-conformance: a documented rule failed",
        matchers: { statuses: ["failed"], trace: /NonConformance/ },
        groupBy: [{ label: "epic" }],
      },
      {
        name: "Waived: a failure accepted until its expiry date (see the record's waivers)",
        matchers: { statuses: ["skipped"], message: /^Waived: / },
      },
      {
        name: "Blocked: not checked, because a rule it relies on failed first",
        matchers: { statuses: ["skipped"], message: /^Blocked by / },
      },
      {
        name: "Environment problem: server unreachable, TLS, timeout or 5xx",
        matchers: [
          { statuses: ["failed", "broken"], message: /^Environment problem/ },
          { statuses: ["failed", "broken"], trace: /(ConnectionError|Timeout|SSLError|HTTP 5\d\d|environment problem)/ },
        ],
      },
      {
        // before "Does not apply": the server's answers could not show the rule kept or broken
        name: "Inconclusive: the server's answers could not show whether it keeps the rule",
        matchers: { statuses: ["skipped"], message: /^Skipped: inconclusive: / },
      },
      {
        name: "Does not apply: the environment declares it (no such client, capability or expectation)",
        // Every skip that is not "blocked by": the suite skips only what the environment or the
        // server declares does not apply (no such client, expectation, endpoint or consent page).
        matchers: { statuses: ["skipped"], message: /^(?!Blocked by |Waived: )/ },
      },
      {
        name: "Configuration problem: a secret or login the environment file gets wrong",
        matchers: { statuses: ["failed", "broken"], message: /(signing in failed|check login\.|is not set)/ },
      },
      {
        name: "Suite fault: the suite itself broke",
        matchers: { statuses: ["broken"] },
      },
    ],
  },
  plugins: {
    awesome: {
      options: {
        reportName: "Visma Connect conformance",
        singleFile: true, // one index.html that opens from a file (a downloaded CI artifact), with no server
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
});
