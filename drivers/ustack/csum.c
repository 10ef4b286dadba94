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
 * segment) are summed with AVX2 where the CPU has it (sum16_avx2 below):
 * the adc chain further down is one carry-dependent add per 8 bytes. */
#define CSUM_AVX2_MIN 256

/* The plain sum of the 16-bit little-endian words of p[0 .. n), n a
 * multiple of 64, as a 64-bit number (exact below 2^47 bytes), storing the
 * bytes to dst on the way when `copy` (the receive path's copy into the
 * receive buffer: one pass over the frame instead of two).
 * vpmaddwd adds each pair of signed 16-bit words into a 32-bit lane; the
 * words are unsigned, so each is first moved to signed by flipping its top
 * bit (w ^ 0x8000 = w - 32768 as signed), and 32768 per word is added back
 * at the end: three instructions per 32 bytes (xor with the load folded in,
 * madd, add) where masking the low and shifting the high halves of 64-bit
 * lanes took five. A 32-bit lane takes at most 65536 in magnitude per
 * vector, so the lanes are widened to 64 bits every CSUM_AVX2_DRAIN
 * iterations, long before they could overflow. */
/* 128-byte iterations between widenings: 2^12 * 2 * 2^16 per lane, twice < 2^31 */
#define CSUM_AVX2_DRAIN 4096

__attribute__((target("avx2"), always_inline)) static inline __m256i widen_add(__m256i acc,
                                                                               __m256i v)
{
    acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
    return _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
}

__attribute__((target("avx2"), always_inline)) static inline uint64_t
sum16_avx2(uint8_t *dst, const uint8_t *p, size_t n, const int copy)
{
    const __m256i flip = _mm256_set1_epi16((short)0x8000), one = _mm256_set1_epi16(1);
    __m256i wide = _mm256_setzero_si256();
    size_t i = 0, body = n & ~(size_t)127;
    while (i < body) {
        size_t stop =
            body - i > (size_t)CSUM_AVX2_DRAIN * 128 ? i + (size_t)CSUM_AVX2_DRAIN * 128 : body;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        do {
            __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
            __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
            __m256i v2 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 64));
            __m256i v3 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 96));
            if (copy) {
                _mm256_storeu_si256((__m256i *)(void *)(dst + i), v0);
                _mm256_storeu_si256((__m256i *)(void *)(dst + i + 32), v1);
                _mm256_storeu_si256((__m256i *)(void *)(dst + i + 64), v2);
                _mm256_storeu_si256((__m256i *)(void *)(dst + i + 96), v3);
            }
            __m256i m0 = _mm256_madd_epi16(_mm256_xor_si256(v0, flip), one);
            __m256i m1 = _mm256_madd_epi16(_mm256_xor_si256(v1, flip), one);
            __m256i m2 = _mm256_madd_epi16(_mm256_xor_si256(v2, flip), one);
            __m256i m3 = _mm256_madd_epi16(_mm256_xor_si256(v3, flip), one);
            a0 = _mm256_add_epi32(a0, _mm256_add_epi32(m0, m1));
            a1 = _mm256_add_epi32(a1, _mm256_add_epi32(m2, m3));
            i += 128;
        } while (i < stop);
        wide = widen_add(wide, _mm256_add_epi32(a0, a1));
    }
    if (n & 64) { /* the last 64 bytes */
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        if (copy) {
            _mm256_storeu_si256((__m256i *)(void *)(dst + i), v0);
            _mm256_storeu_si256((__m256i *)(void *)(dst + i + 32), v1);
        }
        wide =
            widen_add(wide, _mm256_add_epi32(_mm256_madd_epi16(_mm256_xor_si256(v0, flip), one),
                                             _mm256_madd_epi16(_mm256_xor_si256(v1, flip), one)));
    }
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
    int64_t signed_sum = _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
    return (uint64_t)(signed_sum + (int64_t)(n / 2) * 32768); /* every word's 32768 back */
}

__attribute__((target("avx2"), noinline)) static uint64_t sum16_avx2_sum(const uint8_t *p, size_t n)
{
    return sum16_avx2(NULL, p, n, 0);
}

__attribute__((target("avx2"), noinline)) static uint64_t
sum16_avx2_copy(uint8_t *dst, const uint8_t *p, size_t n)
{
    return sum16_avx2(dst, p, n, 1);
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
        s = sum16_avx2_sum(p, n); /* a valid start of the one's-complement chain */
        p += n;
        len -= n;
    }
#endif
    return csum_tail(s, p, len, sum);
}

uint32_t csum_copy_long(uint32_t sum, void *dst, const void *src, size_t len)
{
    const uint8_t *p = src;
    uint8_t *d = dst;
    uint64_t s = 0;
#ifdef CSUM_AVX2
    if (len >= CSUM_AVX2_MIN && have_avx2()) {
        size_t n = len & ~(size_t)63;
        s = sum16_avx2_copy(d, p, n);
        p += n;
        d += n;
        len -= n;
    }
#endif
    memcpy(d, p, len);
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
