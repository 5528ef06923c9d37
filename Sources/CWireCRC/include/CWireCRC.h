#ifndef CWIRECRC_H
#define CWIRECRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `len` bytes at `buf`, continuing from
/// `crc` (the finalized CRC of the preceding bytes; 0 to start). Dispatches to the hardware path
/// when the CPU has CRC32C instructions, else to the slicing-by-8 table path.
uint32_t wire_crc32c(uint32_t crc, const void *buf, size_t len);

/// Portable table-driven (slicing-by-8) CRC32C. Same contract as `wire_crc32c`.
uint32_t wire_crc32c_software(uint32_t crc, const void *buf, size_t len);

/// Hardware CRC32C (SSE4.2 `crc32` on x86_64, ARMv8 CRC32 on arm64), three interleaved streams.
/// Only call when `wire_crc32c_hardware_available()` returns non-zero; otherwise it falls back
/// to the software path.
uint32_t wire_crc32c_hardware(uint32_t crc, const void *buf, size_t len);

/// Non-zero when this CPU has CRC32C instructions that `wire_crc32c_hardware` uses.
int wire_crc32c_hardware_available(void);

#ifdef __cplusplus
}
#endif

#endif
