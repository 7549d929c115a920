/*
 * The firmware's memory layout: the one place it is declared.
 *
 * Included by the reset code (entry.S), the linker script (linker/stage0.ld.S,
 * through the C preprocessor) and the Swift firmware (imported as constants),
 * so the three cannot disagree. Plain integer literals only: Swift imports
 * those and nothing fancier.
 *
 * Everything the firmware owns in RAM sits in conventional memory below
 * 640 KiB, so it stays clear of the kernel (loaded at 16 MiB and up) and of
 * the initramfs (placed high, below 1 GiB), and KASLR never picks it (the
 * decompressor stays above LOAD_PHYSICAL_ADDR). The whole region is typed
 * reserved in the e820 map handed to Linux; 0x80000..0xA0000 stays usable for
 * the kernel's real-mode trampoline.
 */
#ifndef STAGE0_MEMORY_LAYOUT_H
#define STAGE0_MEMORY_LAYOUT_H

/* The flash image QEMU maps just below 4 GiB (-bios). Its size must be a
 * multiple of 64 KiB; the CPU starts at ROM_END - 16 (Intel SDM vol. 3, 9.1.4). */
#define STAGE0_ROM_SIZE            0x10000
#define STAGE0_ROM_BASE            0xFFFF0000
#define STAGE0_ROM_END             0x100000000

/* Identity map of the low 4 GiB with 2 MiB pages: PML4, PDPT, four PDs. */
#define STAGE0_PML4_BASE           0x1000
#define STAGE0_PDPT_BASE           0x2000
#define STAGE0_PD_BASE             0x3000
#define STAGE0_PD_COUNT            4
#define STAGE0_PAGE_TABLES_BASE    0x1000
#define STAGE0_PAGE_TABLES_SIZE    0x6000

/* Linux boot_params ("zero page"), one 4 KiB page (Documentation/arch/x86/zero-page.rst). */
#define STAGE0_ZERO_PAGE_BASE      0x7000
#define STAGE0_ZERO_PAGE_SIZE      0x1000

/* The kernel command line, NUL-terminated. */
#define STAGE0_CMDLINE_BASE        0x8000
#define STAGE0_CMDLINE_CAPACITY    0x8000

/* The 64-bit firmware image (text, rodata, data, bss), copied here from the ROM. */
#define STAGE0_IMAGE_BASE          0x10000
#define STAGE0_IMAGE_SIZE          0x20000

/* The firmware stack; it grows down from STAGE0_STACK_TOP. */
#define STAGE0_STACK_BASE          0x30000
#define STAGE0_STACK_TOP           0x40000

/* Bump-allocator heap for the Swift runtime (fw_cfg directory, ELF headers,
 * the memory map, log lines); nothing is freed. */
#define STAGE0_HEAP_BASE           0x40000
#define STAGE0_HEAP_SIZE           0x40000

/* Where the ACPI table-loader's FSEG allocations (the RSDP) go: the bottom
 * of the BIOS area, 0xE0000. The ROM's alias below 1 MiB covers only its own
 * size (64 KiB: 0xF0000..0xFFFFF), so this is plain RAM on microvm; the
 * linker script checks that the ROM stays that small. */
#define STAGE0_ACPI_FSEG_BASE      0xE0000
#define STAGE0_ACPI_FSEG_SIZE      0x2000
/* Room for the HIGH allocations (the other tables), at the top of RAM below 4 GiB. */
#define STAGE0_ACPI_HIGH_SIZE      0x100000

/* The MP tables (MultiProcessor Specification 1.4): the last KiB of base
 * memory, the spec's place for them when there is no EBDA and the second
 * place Linux looks. Reserved in e820; room for 40 CPUs. */
#define STAGE0_MP_TABLE_BASE       0x9FC00
#define STAGE0_MP_TABLE_SIZE       0x400
/* The whole firmware-owned RAM, as reserved in e820: [0, STAGE0_RAM_END). */
#define STAGE0_RAM_BASE            0x0
#define STAGE0_RAM_END             0x80000

#endif
