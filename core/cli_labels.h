/*
 * cli_labels.h - `seula labels`: the postal labels of GET /api/labels from
 * the command line, rendered by the customers plugin's own labels.c (linked
 * into the binary, see CMakeLists.txt) so both choose the same people.
 */
#ifndef SEULA_CLI_LABELS_H
#define SEULA_CLI_LABELS_H

/* argv[0] is "labels".  Returns the exit status: 0 when the labels were
 * written, 1 on config, database or output errors, 2 on usage. */
int seula_cli_labels(int argc, char **argv);

#endif
