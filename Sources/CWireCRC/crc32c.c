// CRC32C (Castagnoli): hardware path with three interleaved streams and a slicing-by-8
// software fallback. The stream-combining technique (shifting a CRC over a block of zeros
// with precomputed GF(2) operator tables) follows Mark Adler's public-domain crc32c.c.

#include "CWireCRC.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define WIRE_CRC_X86 1
#include <cpuid.h>
#include <nmmintrin.h>
#elif defined(__aarch64__)
#define WIRE_CRC_ARM 1
#include <arm_acle.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif
#endif

#define POLY 0x82f63b78u
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t crc32c_table[8][256];
static uint32_t crc32c_long[4][256];
static uint32_t crc32c_short[4][256];
static int hardware_present;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_int initialized;

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

// --- GF(2) operators for appending zeros to a CRC (used to combine interleaved streams) ---

static uint32_t gf2_matrix_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1) sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_matrix_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_matrix_times(mat, mat[n]);
}

// Operator that appends `len` zero bytes (len a power of two) to a raw CRC register.
static void crc32c_zeros_op(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = POLY;
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_matrix_square(even, odd);  // two zero bits
    gf2_matrix_square(odd, even);  // four zero bits
    do {
        gf2_matrix_square(even, odd);
        len >>= 1;
        if (len == 0) return;
        gf2_matrix_square(odd, even);
        len >>= 1;
    } while (len);
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void crc32c_zeros(uint32_t zeros[][256], size_t len) {
    uint32_t op[32];
    crc32c_zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_matrix_times(op, n);
        zeros[1][n] = gf2_matrix_times(op, n << 8);
        zeros[2][n] = gf2_matrix_times(op, n << 16);
        zeros[3][n] = gf2_matrix_times(op, n << 24);
    }
}

static inline uint32_t crc32c_shift(uint32_t zeros[][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
           zeros[3][crc >> 24];
}

static int detect_hardware(void) {
#if defined(WIRE_CRC_X86)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
#elif defined(WIRE_CRC_ARM)
#if defined(__APPLE__)
    return 1;  // every Apple arm64 CPU implements the ARMv8 CRC32 extension
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#else
    return 0;
#endif
#else
    return 0;
#endif
}

static void initialize(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
        crc32c_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = crc32c_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = crc32c_table[0][crc & 0xff] ^ (crc >> 8);
            crc32c_table[k][n] = crc;
        }
    }
    crc32c_zeros(crc32c_long, LONG_BLOCK);
    crc32c_zeros(crc32c_short, SHORT_BLOCK);
    hardware_present = detect_hardware();
    atomic_store_explicit(&initialized, 1, memory_order_release);
}

static inline void ensure_initialized(void) {
    if (!atomic_load_explicit(&initialized, memory_order_acquire)) pthread_once(&init_once, initialize);
}

// --- software: slicing-by-8 ---

static uint32_t software_raw(uint32_t crc, const unsigned char *next, size_t len) {
    while (len && ((uintptr_t)next & 7) != 0) {
        crc = crc32c_table[0][(crc ^ *next++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t word = load64(next) ^ crc;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(load64(next)) ^ crc;
#endif
        crc = crc32c_table[7][word & 0xff] ^ crc32c_table[6][(word >> 8) & 0xff] ^
              crc32c_table[5][(word >> 16) & 0xff] ^ crc32c_table[4][(word >> 24) & 0xff] ^
              crc32c_table[3][(word >> 32) & 0xff] ^ crc32c_table[2][(word >> 40) & 0xff] ^
              crc32c_table[1][(word >> 48) & 0xff] ^ crc32c_table[0][word >> 56];
        next += 8;
        len -= 8;
    }
    while (len) {
        crc = crc32c_table[0][(crc ^ *next++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return crc;
}

uint32_t wire_crc32c_software(uint32_t crc, const void *buf, size_t len) {
    ensure_initialized();
    if (len == 0) return crc;
    return ~software_raw(~crc, (const unsigned char *)buf, len);
}

// --- hardware ---

#if defined(WIRE_CRC_X86)
#define HW_TARGET __attribute__((target("sse4.2")))
#define CRC_U8(c, v) _mm_crc32_u8((uint32_t)(c), (v))
#define CRC_U64(c, v) _mm_crc32_u64((c), (v))
#elif defined(WIRE_CRC_ARM)
#define HW_TARGET __attribute__((target("crc")))
#define CRC_U8(c, v) __crc32cb((uint32_t)(c), (v))
#define CRC_U64(c, v) __crc32cd((uint32_t)(c), (v))
#endif

#if defined(HW_TARGET)
HW_TARGET static uint32_t hardware_raw(uint32_t crc, const unsigned char *next, size_t len) {
    uint64_t crc0 = crc, crc1, crc2;
    while (len && ((uintptr_t)next & 7) != 0) {
        crc0 = CRC_U8(crc0, *next);
        next++;
        len--;
    }
    // Three independent streams hide the instruction's 3-cycle latency (1/cycle throughput).
    while (len >= LONG_BLOCK * 3) {
        crc1 = 0;
        crc2 = 0;
        const unsigned char *end = next + LONG_BLOCK;
        do {
            crc0 = CRC_U64(crc0, load64(next));
            crc1 = CRC_U64(crc1, load64(next + LONG_BLOCK));
            crc2 = CRC_U64(crc2, load64(next + LONG_BLOCK * 2));
            next += 8;
        } while (next < end);
        crc0 = crc32c_shift(crc32c_long, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = crc32c_shift(crc32c_long, (uint32_t)crc0) ^ (uint32_t)crc2;
        next += LONG_BLOCK * 2;
        len -= LONG_BLOCK * 3;
    }
    while (len >= SHORT_BLOCK * 3) {
        crc1 = 0;
        crc2 = 0;
        const unsigned char *end = next + SHORT_BLOCK;
        do {
            crc0 = CRC_U64(crc0, load64(next));
            crc1 = CRC_U64(crc1, load64(next + SHORT_BLOCK));
            crc2 = CRC_U64(crc2, load64(next + SHORT_BLOCK * 2));
            next += 8;
        } while (next < end);
        crc0 = crc32c_shift(crc32c_short, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = crc32c_shift(crc32c_short, (uint32_t)crc0) ^ (uint32_t)crc2;
        next += SHORT_BLOCK * 2;
        len -= SHORT_BLOCK * 3;
    }
    const unsigned char *end = next + (len - (len & 7));
    while (next < end) {
        crc0 = CRC_U64(crc0, load64(next));
        next += 8;
    }
    len &= 7;
    while (len) {
        crc0 = CRC_U8(crc0, *next);
        next++;
        len--;
    }
    return (uint32_t)crc0;
}
#endif

uint32_t wire_crc32c_hardware(uint32_t crc, const void *buf, size_t len) {
    ensure_initialized();
    if (len == 0) return crc;
#if defined(HW_TARGET)
    if (hardware_present) return ~hardware_raw(~crc, (const unsigned char *)buf, len);
#endif
    return ~software_raw(~crc, (const unsigned char *)buf, len);
}

int wire_crc32c_hardware_available(void) {
    ensure_initialized();
    return hardware_present;
}

uint32_t wire_crc32c(uint32_t crc, const void *buf, size_t len) {
    return wire_crc32c_hardware(crc, buf, len);
}
