/*
 * arena.h - a capped bump allocator for one request or one batch.
 *
 * Everything allocated from an arena is freed at once by seula_arena_free().
 * An arena refuses to grow past its cap, so a hostile request cannot make the
 * server allocate without bound.  Not thread-safe; an arena belongs to one
 * request at a time (it may move between threads with its request).
 */
#ifndef SEULA_ARENA_H
#define SEULA_ARENA_H

#include <stddef.h>

struct seula_arena_block;

struct seula_arena {
	struct seula_arena_block *head;
	size_t used_total; /* bytes handed out, for the cap */
	size_t cap;        /* 0: no cap */
};

/* Initialise an empty arena; no allocation happens until the first alloc. */
void seula_arena_init(struct seula_arena *arena, size_t cap);
/* Release every block; the arena may be reused afterwards.  NULL is fine. */
void seula_arena_free(struct seula_arena *arena);

/* Aligned, zeroed memory owned by the arena; NULL when over the cap or out of
 * memory. */
void *seula_arena_alloc(struct seula_arena *arena, size_t size);
/* A NUL-terminated copy of `len` bytes of `s`, owned by the arena. */
char *seula_arena_strndup(struct seula_arena *arena, const char *s, size_t len);
char *seula_arena_strdup(struct seula_arena *arena, const char *s);

#endif
