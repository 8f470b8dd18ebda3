/*
 * embedded.h - the texts built into the binary (generated at build time from
 * core/consent_texts.json and core/privacy_texts.json by cmake/Embed.cmake),
 * so a server runs without any file beside it.  NUL-terminated JSON.
 */
#ifndef SEULA_EMBEDDED_H
#define SEULA_EMBEDDED_H

extern const char seula_embedded_consent_texts[];
extern const char seula_embedded_privacy_texts[];

#endif
