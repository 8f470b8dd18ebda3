/*
 * arena.c - capped bump allocator.
 *
 * Hand-written: the few lines here are cheaper than a dependency such as
 * talloc, whose hierarchy we do not need, and the cap is the point.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN 4096

struct seula_arena_block {
	struct seula_arena_block *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

void seula_arena_init(struct seula_arena *arena, size_t cap)
{
	arena->head = NULL;
	arena->used_total = 0;
	arena->cap = cap;
}

void seula_arena_free(struct seula_arena *arena)
{
	if (!arena)
		return;
	struct seula_arena_block *b = arena->head;
	while (b) {
		struct seula_arena_block *next = b->next;
		free(b);
		b = next;
	}
	arena->head = NULL;
	arena->used_total = 0;
}

void *seula_arena_alloc(struct seula_arena *arena, size_t size)
{
	const size_t align = alignof(max_align_t);
	size_t rounded = (size + align - 1) & ~(align - 1);
	if (rounded < size)
		return NULL;
	if (arena->cap &&
	    (rounded > arena->cap || arena->used_total > arena->cap - rounded))
		return NULL;

	struct seula_arena_block *b = arena->head;
	if (!b || b->size - b->used < rounded) {
		size_t bsize = rounded > BLOCK_MIN ? rounded : BLOCK_MIN;
		b = malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = arena->head;
		arena->head = b;
	}
	void *p = b->data + b->used;
	b->used += rounded;
	arena->used_total += rounded;
	memset(p, 0, rounded);
	return p;
}

char *seula_arena_strndup(struct seula_arena *arena, const char *s, size_t len)
{
	if (len == (size_t)-1)
		return NULL;
	char *p = seula_arena_alloc(arena, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *seula_arena_strdup(struct seula_arena *arena, const char *s)
{
	return seula_arena_strndup(arena, s, strlen(s));
}
