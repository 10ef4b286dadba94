/*
 * units.h — numbers with units, as users type them (wrk's lesson):
 * sizes "64", "1k", "64KiB", "1m", "1g" (binary: k = 1024), durations "10s",
 * "500ms", "100us", "2m", "1h" (a bare number is seconds), counts and rates
 * "10k", "1.5m" (decimal: k = 1000).
 * All return 0 on success, -1 on a malformed or out-of-range value.
 * Callers: workloads/spec.c, harness/ option parsing, workloads/server.c (/bytes/N).
 */
#ifndef BB_UNITS_H
#define BB_UNITS_H

#include <stddef.h>
#include <stdint.h>

int units_parse_size(const char *s, uint64_t *out);
/* Same, for a string that is not NUL-terminated. */
int units_parse_size_n(const char *s, size_t len, uint64_t *out);
int units_parse_duration_ns(const char *s, uint64_t *out);
int units_parse_count(const char *s, uint64_t *out);
/* "64 B", "1.0 KiB", "1.5 GiB" into buf; returns buf. */
const char *units_format_size(uint64_t bytes, char *buf, size_t len);
/* "850 ns", "12.3 us", "4.56 ms", "1.20 s" into buf; returns buf. */
const char *units_format_ns(uint64_t ns, char *buf, size_t len);
/* "950", "45.2k", "1.23M" into buf; returns buf. */
const char *units_format_count(double v, char *buf, size_t len);

#endif
