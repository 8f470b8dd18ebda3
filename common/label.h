/*
 * label.h - a short text a person gives to tell things apart (an API
 * key's name, a note on the chart).  Compiled into the core and into the
 * analytics plugin.
 */
#ifndef SEULA_LABEL_H
#define SEULA_LABEL_H

#include <stdbool.h>
#include <stdint.h>

/* Whether s (valid UTF-8, as jansson gives it) is 1 to max_chars
 * characters, none of them a control or format character (ICU's
 * u_iscntrl: C0, C1, DEL, Cf such as a bidirectional override, line and
 * paragraph separators), not all white space.  NULL: no. */
bool seula_label_ok(const char *s, int32_t max_chars);

#endif
