// Allure 3 configuration for `make report` (run by `make conformance`).
// The report keeps its history in reports/history.jsonl, so nightly runs show trends.
import { readFileSync } from "node:fs";
import { defineConfig } from "allure";

const record = (() => {
  try {
    return JSON.parse(readFileSync("reports/compliance.json", "utf-8"));
  } catch {
    return null; // no run yet: the report is still generated, without the run's variables
  }
})();

export default defineConfig({
  name: record ? `Visma Connect conformance: ${record.environment} (${record.verdict})` : "Visma Connect conformance",
  output: "reports/allure-report",
  historyPath: "reports/history.jsonl",
  historyLimit: 60,
  variables: record
    ? {
        Environment: record.environment,
        Issuer: record.issuer,
        "Suite version": record.suite_version,
        Verdict: record.verdict,
      }
    : {},
  categories: {
    rules: [
      {
        name: "Non-conformance: a documented rule failed",
        matchers: { statuses: ["failed"], trace: /NonConformance/ },
        groupBy: [{ label: "epic" }],
      },
      {
        name: "Environment problem: server unreachable, TLS, timeout or 5xx",
        matchers: [
          { statuses: ["failed", "broken"], trace: /(ConnectionError|Timeout|SSLError|HTTP 5\d\d|environment problem)/ },
        ],
      },
      {
        name: "Configuration problem: a client, secret or login the environment lacks",
        matchers: [
          { statuses: ["skipped"], message: /(is configured|declares no|names no|expects plain PKCE)/ },
          { statuses: ["failed", "broken"], message: /(signing in failed|check login\.|is not set)/ },
        ],
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
        singleFile: false,
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
});
