/*
 * pattern.c — the deterministic body of GET /bytes/N.
 * Byte i of every body is table[i % PATTERN_PERIOD]. The table holds two
 * copies of the period back to back, so any PATTERN_PERIOD contiguous bytes
 * start at &table[offset % PATTERN_PERIOD] without wrapping: fill and check
 * are one memcpy/memcmp per period (GiB/s), and pattern_at is zero-copy.
 * The table is generated once (pthread_once) by splitmix64 from a fixed seed
 * into static storage and is read-only afterwards.
 * Callers: workloads/server.c, workloads/loadgen.c, tests.
 * Calls: libc (memcpy, memcmp), pthread_once.
 */
#include "workloads/pattern.h"

#include <pthread.h>
#include <string.h>

#define PATTERN_SEED 0x6279706173736265ull /* "bypassbe" */

/* Written once by build_table() under pthread_once, read-only afterwards. */
static uint8_t table[2 * (size_t)PATTERN_PERIOD] __attribute__((aligned(64)));
/* RFC 1071 sums of the table's prefixes from an even and from an odd start
 * (pattern_sums): a sender checksums a body segment with two loads. */
static uint16_t sums[2][2 * (size_t)PATTERN_PERIOD + 1];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static int table_built; /* set (release) at the end of build_table */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void build_table(void)
{
    uint64_t state = PATTERN_SEED;
    size_t i = 0;
    while (i < PATTERN_PERIOD) {
        uint64_t r = splitmix64(&state);
        for (int b = 0; b < 8 && i < PATTERN_PERIOD; b++, i++)
            table[i] = (uint8_t)(r >> (8 * b));
    }
    memcpy(table + PATTERN_PERIOD, table, PATTERN_PERIOD);
    for (int odd = 0; odd < 2; odd++) {
        uint32_t s = 0;
        sums[odd][odd] = 0;
        for (size_t j = (size_t)odd; j < 2 * (size_t)PATTERN_PERIOD; j++) {
            /* byte j is a word's high half when (j - odd) is even */
            s += ((j - (size_t)odd) & 1) ? table[j] : (uint32_t)table[j] << 8;
            s = (s & 0xffff) + (s >> 16);
            sums[odd][j + 1] = (uint16_t)s;
        }
    }
    __atomic_store_n(&table_built, 1, __ATOMIC_RELEASE);
}

/* Checks run per response: once built, one acquire load instead of a call
 * into pthread_once. */
void pattern_init(void)
{
    if (!__atomic_load_n(&table_built, __ATOMIC_ACQUIRE)) pthread_once(&table_once, build_table);
}

void pattern_fill(uint8_t *dst, uint64_t offset, size_t len)
{
    pattern_init();
    const uint8_t *src = table + offset % PATTERN_PERIOD;
    while (len > 0) {
        size_t n = len < PATTERN_PERIOD ? len : PATTERN_PERIOD;
        memcpy(dst, src, n); /* a whole period later, src is the same */
        dst += n;
        len -= n;
    }
}

const uint8_t *pattern_at(uint64_t offset, size_t want, size_t *got)
{
    pattern_init();
    if (got) *got = want < PATTERN_PERIOD ? want : PATTERN_PERIOD;
    return table + offset % PATTERN_PERIOD;
}

void pattern_sums(const uint16_t *out[2])
{
    pattern_init();
    out[0] = sums[0];
    out[1] = sums[1];
}

size_t pattern_check(const uint8_t *src, uint64_t offset, size_t len)
{
    pattern_init();
    /* no division for the usual small body, which starts at offset 0 */
    const uint8_t *ref = table + (offset < PATTERN_PERIOD ? offset : offset % PATTERN_PERIOD);
    size_t done = 0;
    while (done < len) {
        size_t n = len - done < PATTERN_PERIOD ? len - done : PATTERN_PERIOD;
        if (memcmp(src + done, ref, n) != 0) {
            size_t i = 0;
            while (src[done + i] == ref[i])
                i++; /* memcmp said they differ within n */
            return done + i;
        }
        done += n;
    }
    return len;
}
