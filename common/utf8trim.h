/*
 * utf8trim.h - a UTF-8 value without the characters around it that its
 * caller counts as blank (a utm value's spaces, a register field's JS
 * trim()), walked by code point with ICU's macros.
 */
#ifndef SEULA_UTF8TRIM_H
#define SEULA_UTF8TRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <unicode/umachine.h>

/* s (*len bytes) without the code points around it for which blank() is
 * true: returns where the rest starts in s, *len its length (0 when all
 * was blank).  A malformed sequence is passed to blank() as a negative
 * code point.  A value over INT32_MAX bytes is returned whole. */
const char *seula_utf8_trim(const char *s, size_t *len,
                            bool (*blank)(UChar32 c));

#endif
