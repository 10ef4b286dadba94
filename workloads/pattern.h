/*
 * pattern.h — the deterministic body served by GET /bytes/N and checked by the
 * load generator byte for byte: byte i of any body is table[i % PATTERN_PERIOD]
 * for a fixed pseudo-random table with a prime period, so a lost, duplicated,
 * reordered or corrupted byte anywhere is detected.
 * Callers: workloads/server.c, workloads/loadgen.c, tests.
 */
#ifndef BB_PATTERN_H
#define BB_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define PATTERN_PERIOD 65521u

/* Builds the table once; cheap and idempotent; call before the others
 * (thread-safe). */
void pattern_init(void);
/* Writes body bytes [offset, offset + len) to dst. */
void pattern_fill(uint8_t *dst, uint64_t offset, size_t len);
/* A pointer to at least `want` valid bytes of the body starting at offset
 * (at most PATTERN_PERIOD); *got says how many. Zero-copy sends use this. */
const uint8_t *pattern_at(uint64_t offset, size_t want, size_t *got);
/* The prefix sums of the table pattern_at points into (struct
 * netio_src.sum, drivers/netio.h): sums[odd][i], i in 0 .. 2 *
 * PATTERN_PERIOD. */
void pattern_sums(const uint16_t *out[2]);
/* Compares src with body bytes [offset, offset + len). Returns len when all
 * match, else the index of the first mismatch. */
size_t pattern_check(const uint8_t *src, uint64_t offset, size_t len);

#endif
