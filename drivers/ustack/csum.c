/*
 * csum.c — the internet checksum (RFC 1071) for the user-space stack and
 * the incremental update of RFC 1624 (csum_fold, csum_pseudo and the
 * 20-byte IPv4 header sum csum_ip20 are inline in ustack_int.h).
 * Callers: ipv4.c, icmp.c, tcp_in.c, tcp_out.c. Calls nothing.
 */
#include "drivers/ustack/ustack_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CSUM_AVX2 1
/* Payload-sized runs (a whole segment: the receiver's check of every data
 * segment) are summed with AVX2 where the CPU has it: the adc chain below
 * is one carry-dependent add per 8 bytes; here each 64-bit lane adds the
 * low and the high 32-bit halves of its words in independent accumulators
 * (the sum of 32-bit words is the RFC 1071 sum modulo 0xffff, 2^16 being 1
 * there), about 3 times the bytes per cycle. */
#define CSUM_AVX2_MIN 256

/* The plain sum of the 32-bit little-endian words of p[0 .. n), n a
 * multiple of 64 (below 2^35 bytes: no lane overflows). */
__attribute__((target("avx2"))) static uint64_t sum32_avx2(const uint8_t *p, size_t n)
{
    const __m256i lo = _mm256_set1_epi64x(0xffffffffll);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 64) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        a0 = _mm256_add_epi64(a0, _mm256_and_si256(v0, lo));
        a1 = _mm256_add_epi64(a1, _mm256_srli_epi64(v0, 32));
        a2 = _mm256_add_epi64(a2, _mm256_and_si256(v1, lo));
        a3 = _mm256_add_epi64(a3, _mm256_srli_epi64(v1, 32));
    }
    __m256i t = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    return (uint64_t)_mm_cvtsi128_si64(h) + (uint64_t)_mm_extract_epi64(h, 1);
}

static int have_avx2(void)
{
    static int v = -1; /* -1: not asked yet (a race only asks twice) */
    if (__builtin_expect(v < 0, 0)) v = __builtin_cpu_supports("avx2") ? 1 : 0;
    return v;
}
#endif

/* a + b in one's complement over 64 bits (end-around carry) */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) r++;
    return r;
}

/* csum_add's sum of p[0 .. len) continuing the 64-bit one's-complement
 * accumulator s (0, or the vector loop's sum of what came before).
 * csum_add: one's-complement sum of len bytes (starting at an even offset of
 * the checksummed area) added to sum (not folded). On little-endian machines the
 * bytes are summed as native 64-bit words with end-around carry, any
 * alignment, and the folded result is byte-swapped at the end (RFC 1071
 * 2(B): the sum is byte-order independent). */
static inline __attribute__((always_inline)) uint32_t csum_tail(uint64_t s, const uint8_t *p,
                                                                 size_t len, uint32_t sum)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#if defined(__x86_64__)
    /* One carry chain per 64 bytes (adc with a memory operand): half the
     * instructions of add-then-adc-0 per word, as Linux's csum_partial. */
    while (len >= 64) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq 8(%[p]), %[s]\n\t"
                "adcq 16(%[p]), %[s]\n\t"
                "adcq 24(%[p]), %[s]\n\t"
                "adcq 32(%[p]), %[s]\n\t"
                "adcq 40(%[p]), %[s]\n\t"
                "adcq 48(%[p]), %[s]\n\t"
                "adcq 56(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[64])p)
                : "cc");
        p += 64;
        len -= 64;
    }
    /* len < 64 now: one block for each of its 32, 16 and 8 bits */
    if (len & 32) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq 8(%[p]), %[s]\n\t"
                "adcq 16(%[p]), %[s]\n\t"
                "adcq 24(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[32])p)
                : "cc");
        p += 32;
    }
    if (len & 16) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq 8(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[16])p)
                : "cc");
        p += 16;
    }
    if (len & 8) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[8])p)
                : "cc");
        p += 8;
    }
    len &= 7;
#else
    while (len >= 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        s = add64(s, w0);
        s = add64(s, w1);
        s = add64(s, w2);
        s = add64(s, w3);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        s = add64(s, w);
        p += 8;
        len -= 8;
    }
#endif
    uint64_t t = 0; /* the last 0..7 bytes, as the low bytes of a native word */
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        t = w;
        p += 4;
    }
    if (len & 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        t |= (uint64_t)w << ((len & 4) * 8);
        p += 2;
    }
    if (len & 1) t |= (uint64_t)p[0] << ((len & 6) * 8);
    s = add64(s, t);
    s = csum_fold64_le(s);
#else
    while (len >= 2) {
        s += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len) s += (uint32_t)p[0] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
#endif
    s += sum;
    s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    return csum_tail(0, data, len, sum);
}

uint32_t csum_add_long(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = 0;
#ifdef CSUM_AVX2
    if (len >= CSUM_AVX2_MIN && have_avx2()) {
        size_t n = len & ~(size_t)63;
        s = sum32_avx2(p, n); /* < 2^40: a valid start of the one's-complement chain */
        p += n;
        len -= n;
    }
#endif
    return csum_tail(s, p, len, sum);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all host order. */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
    uint32_t s = (uint16_t)~csum;
    s += (uint16_t)~old;
    s += new_;
    return csum_fold(s);
}
