/*
 * cli_report.h - `seula report`: a site's marketing report for a period
 * (summary against the previous period, visits over time, top pages,
 * sources, campaigns, countries, devices, goals, consent rates) as JSON,
 * CSV or one self-contained HTML file.
 */
#ifndef SEULA_CLI_REPORT_H
#define SEULA_CLI_REPORT_H

/* argv[0] is "report".  Returns the exit status: 0 when the report was
 * written, 1 on config, database or output errors, 2 on usage. */
int seula_cli_report(int argc, char **argv);

#endif
