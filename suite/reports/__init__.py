"""Reports: the record of a run and everything made from it: the compliance record and its seal,
verification, markdown, comparison with the previous run, merging, Allure and JUnit output, the HTML
report and its server, the certificate, and the lock of a reports folder. Reads verdicts; nothing
below imports it."""
