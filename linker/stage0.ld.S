/*
 * stage0's link: a 64-bit image that runs from RAM at STAGE0_IMAGE_BASE but
 * is stored in the ROM, followed by the ROM-resident reset code, with the
 * reset vector in the last 16 bytes below 4 GiB. Addresses come from
 * memory_layout.h (run through the C preprocessor by the Makefile).
 */
#include "memory_layout.h"

OUTPUT_FORMAT("elf64-x86-64")
ENTRY(reset_vector)

MEMORY {
    ram (rwx) : ORIGIN = STAGE0_IMAGE_BASE, LENGTH = STAGE0_IMAGE_SIZE
    rom (rx)  : ORIGIN = STAGE0_ROM_BASE,   LENGTH = STAGE0_ROM_SIZE
}

SECTIONS {
    .text : {
        __image_start = .;
        *(.text.long_mode)
        *(.text .text.*)
    } > ram AT > rom

    .rodata : ALIGN(16) {
        *(.rodata .rodata.*)
    } > ram AT > rom

    .data : ALIGN(16) {
        *(.data .data.*)
        *(.got .got.*)
        . = ALIGN(16);
        __image_end = .;
    } > ram AT > rom

    .bss (NOLOAD) : ALIGN(16) {
        __bss_start = .;
        *(.bss .bss.*)
        *(COMMON)
        . = ALIGN(16);
        __bss_end = .;
    } > ram

    /* The reset code sits just below the reset vector: it runs with CS base
     * 0xFFFF0000, and the vector's 16-bit jump must reach it. */
    .rom (STAGE0_ROM_END - 0x200) : {
        KEEP(*(.rom.reset16))
    } > rom

    .reset_vector (STAGE0_ROM_END - 16) : {
        KEEP(*(.rom.reset_vector))
    } > rom

    .symtab 0 : { *(.symtab) }
    .strtab 0 : { *(.strtab) }
    .shstrtab 0 : { *(.shstrtab) }

    /DISCARD/ : {
        *(.comment) *(.note .note.*) *(.eh_frame .eh_frame_hdr)
        *(.llvm_addrsig) *(.swift_modhash)
    }
}

__image_load_address = LOADADDR(.text);
__image_copy_size    = __image_end - __image_start;
__bss_size           = __bss_end - __bss_start;
__rom_used           = (__image_end - __image_start) + SIZEOF(.rom) + SIZEOF(.reset_vector);

ASSERT(ADDR(.rom) + SIZEOF(.rom) <= ADDR(.reset_vector), "stage0: the reset code overlaps the reset vector")
ASSERT(LOADADDR(.data) + SIZEOF(.data) <= ADDR(.rom), "stage0: the 64-bit image does not fit in the ROM below the reset code")
/* The ROM is aliased below 1 MiB over its own size; ACPI's FSEG window must stay out of that alias. */
ASSERT(STAGE0_ACPI_FSEG_BASE + STAGE0_ACPI_FSEG_SIZE <= 0x100000 - STAGE0_ROM_SIZE, "stage0: the ACPI FSEG window lies under the ROM's alias below 1 MiB")
ASSERT(__bss_end <= STAGE0_IMAGE_BASE + STAGE0_IMAGE_SIZE, "stage0: image and .bss overflow STAGE0_IMAGE_SIZE")
