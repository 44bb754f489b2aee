// The HTML report of one run: node suite/reports/allure_report.mjs RESULTS_DIR (run by suite/reports/html_report.py,
// in the project's folder, so that Allure reads the project's allurerc.mjs).
//
// What `allure generate RESULTS_DIR` does, through the same Allure packages (pinned by package.json's
// `allure`), with two differences in how files are read and written and none in what is written:
// - every result file is read into memory first (one synchronous read each), and
// - every report file is written with one synchronous call.
// `allure generate` copies the ~400 attachments one after another, each an open, read and close of
// the result and an open, write and close of the copy, every one a round trip through Node's thread
// pool: after the run, on 2 cores, about half a second of waiting for those round trips.
// The files are read in name order one at a time, as `allure generate` does with
// ALLURE_READ_CONCURRENCY=1 (the order decides only the order of keys in some JSON objects).
//
// CONFORMANCE_WAIT_FOR_RESULTS: `python -m suite.run` starts this while the suite runs, so that Node
// loads Allure's modules (most of a second) then and not after the run. It waits for "go" on its
// standard input, sent once the results are complete; input that ends without it means no report
// (the run produced none), so nothing is generated.
//
// A report file or the history that cannot be written (a full disk, a read-only folder) ends it with
// exit code 6 and one line on standard error, the error's number: html_report.py says what could not
// be written, and why, in words; Allure's own stack traces of it are not for the user. Allure logs a
// plugin's failed write and goes on, so every write is watched here, not only the one that ends it.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { AllureReport, readConfig } from "@allurereport/core";
import { BufferResultFile } from "@allurereport/reader-api";
import "@allurereport/plugin-awesome"; // the report's plugins, loaded before the wait, not after it
import "@allurereport/plugin-agent";

const [resultsDir] = process.argv.slice(2);

if (process.env.CONFORMANCE_WAIT_FOR_RESULTS) {
  let input = "";
  process.stdin.setEncoding("utf-8");
  for await (const chunk of process.stdin) input += chunk;
  if (input.trim() !== "go") process.exit(1);
}

const OUTPUT_ERRORS = new Set(["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM"]);
const NOT_WRITTEN = 6; // the suite's exit code for reports that could not be written
let notWritten = null; // the first write that failed for want of space or permission

// Allure's own FileSystemReportFiles, with one synchronous write per file.
class SynchronousReportFiles {
  #output;
  #made = new Set();

  constructor(output) {
    this.#output = resolve(output);
  }

  addFile = async (path, data) => {
    const target = resolve(this.#output, path);
    if (path.includes("\0") || !target.startsWith(this.#output + sep)) {
      throw new Error(`Refusing to write outside report output directory: ${JSON.stringify(path)}`);
    }
    const folder = dirname(target);
    try {
      if (!this.#made.has(folder)) {
        mkdirSync(folder, { recursive: true });
        this.#made.add(folder);
      }
      writeFileSync(target, data);
    } catch (error) {
      if (OUTPUT_ERRORS.has(error?.code)) notWritten ??= error;
      throw error;
    }
    return target;
  };
}

try {
  const config = await readConfig(process.cwd());
  config.reportFiles = new SynchronousReportFiles(config.output);
  const report = new AllureReport(config);
  await report.restoreState([]);
  await report.start();
  const names = readdirSync(resultsDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith(".tmp"))
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  for (const name of names) {
    let content;
    try {
      content = readFileSync(join(resultsDir, name));
    } catch (error) {
      console.error(`can't read result file ${name}`, error); // and the rest are read, as Allure does
      continue;
    }
    await report.readResult(new BufferResultFile(content, name));
  }
  await report.done();
} catch (error) {
  if (OUTPUT_ERRORS.has(error?.code)) notWritten ??= error;
  if (!notWritten) {
    console.error("Failed to generate report:", error);
    process.exit(1);
  }
}
if (notWritten) {
  process.stderr.write(`${-notWritten.errno}\n`);
  process.exit(NOT_WRITTEN);
}
