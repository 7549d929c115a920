/*
 * x86 instructions the firmware needs that Swift cannot spell: port I/O,
 * string port input, the time-stamp counter, CPUID and the final jump.
 * Every asm has a "memory" clobber where ordering against memory matters
 * (fw_cfg DMA reads and writes guest RAM behind the compiler's back).
 */
#ifndef STAGE0_HARDWARE_H
#define STAGE0_HARDWARE_H

#include <stddef.h>
#include <stdint.h>
#include "memory_layout.h"

#if !defined(__linux__)

static inline void port_write8(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void port_write16(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void port_write32(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t port_read8(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline uint32_t port_read32(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

/* rep insb: `count` bytes from one port into memory. */
static inline void port_read8_string(uint16_t port, void *destination, uint64_t count) {
    __asm__ volatile("rep insb" : "+D"(destination), "+c"(count) : "d"(port) : "memory");
}

static inline uint32_t volatile_load32(const void *address) {
    return *(const volatile uint32_t *)address;
}

static inline void volatile_store32(void *address, uint32_t value) {
    *(volatile uint32_t *)address = value;
}

static inline uint64_t read_tsc(void) {
    uint32_t low, high;
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

struct cpuid_result { uint32_t eax, ebx, ecx, edx; };

static inline struct cpuid_result cpuid(uint32_t leaf, uint32_t subleaf) {
    struct cpuid_result r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline void cpu_relax(void) { __asm__ volatile("pause"); }

/* Loads an empty IDT and raises an exception: with no handler the CPU
 * triple-faults, which QEMU turns into a reset (or an exit under -no-reboot). */
static inline __attribute__((noreturn)) void triple_fault(void) {
    static const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty = {0, 0};
    __asm__ volatile("lidt %0; int3" : : "m"(empty));
    for (;;) __asm__ volatile("cli; hlt");
}

size_t stage0_heap_used(void);

/* entry.S: installs the boot GDT (__BOOT_CS 0x10, __BOOT_DS 0x18), loads
 * RSI with boot_params and jumps to the kernel's 64-bit entry. */
__attribute__((noreturn)) void stage0_enter_kernel(uint64_t entry, uint64_t boot_params);

#endif /* !__linux__ */
#endif
