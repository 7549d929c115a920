/*
 * The C library routines that Swift's generated code calls. Written with
 * string instructions so the compiler cannot turn a loop back into a call
 * to the very function it is compiling. Firmware only.
 */
#if !defined(__linux__)
#include <stddef.h>
#include <stdint.h>

void *memset(void *destination, int value, size_t count) {
    void *d = destination;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(count) : "a"(value) : "memory");
    return destination;
}

void *memcpy(void *destination, const void *source, size_t count) {
    void *d = destination;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(source), "+c"(count) : : "memory");
    return destination;
}

void *memmove(void *destination, const void *source, size_t count) {
    if ((uintptr_t)destination <= (uintptr_t)source ||
        (uintptr_t)destination >= (uintptr_t)source + count) {
        return memcpy(destination, source, count);
    }
    /* Overlap with the destination above: copy backwards. */
    void *d = (char *)destination + count - 1;
    const void *s = (const char *)source + count - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(count) : : "memory");
    return destination;
}

int memcmp(const void *a, const void *b, size_t count) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < count; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
#endif

#if !defined(__linux__)
#include "memory_layout.h"

/* Swift (Shutdown.swift): reports and ends the VM. */
__attribute__((noreturn)) void stage0_out_of_memory(size_t requested);

/* The allocator the Embedded Swift runtime calls: a bump pointer over the
 * heap declared in memory_layout.h. The firmware allocates little and once
 * (the fw_cfg directory, ELF headers, the memory map, log lines), so free()
 * returns nothing. */
static uintptr_t heap_next = STAGE0_HEAP_BASE;

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < 16) alignment = 16;
    uintptr_t start = (heap_next + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (start + size > STAGE0_HEAP_BASE + STAGE0_HEAP_SIZE || start + size < start) {
        stage0_out_of_memory(size);
    }
    heap_next = start + size;
    *result = (void *)start;
    return 0;
}

void free(void *pointer) { (void)pointer; }

size_t stage0_heap_used(void) { return heap_next - STAGE0_HEAP_BASE; }
#endif
