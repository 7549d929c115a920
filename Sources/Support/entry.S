/*
 * Reset to Swift: the only assembly in stage0.
 *
 *   reset vector (16-bit, 0xFFFFFFF0) -> load GDT -> protected mode (32-bit)
 *   -> copy the 64-bit image from ROM to RAM, zero .bss -> identity page tables
 *   -> PAE, SSE, EFER.LME (+NXE) -> paging: long mode -> stack -> stage0_main.
 *
 * The 64-bit image runs from RAM, not in place: Swift emits small-model,
 * RIP-relative code, which cannot reach low RAM from the top of 4 GiB.
 * The time-stamp counter is read first thing and passed to stage0_main so
 * the log can say how long the firmware took since reset.
 */
#include "memory_layout.h"

/* Selectors. 0x10/0x18 are the Linux boot protocol's __BOOT_CS/__BOOT_DS
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"). */
#define SELECTOR_CODE32   0x08
#define SELECTOR_CODE64   0x10
#define SELECTOR_DATA     0x18

/* Intel SDM vol. 3, 2.5 (control registers) and 4.5 (4-level paging). */
#define CR0_PE            (1 << 0)
#define CR0_MP            (1 << 1)
#define CR0_EM            (1 << 2)
#define CR0_TS            (1 << 3)
#define CR0_NE            (1 << 5)
#define CR0_NW            (1 << 29)
#define CR0_CD            (1 << 30)
#define CR0_PG            (1 << 31)
#define CR4_PAE           (1 << 5)
#define CR4_OSFXSR        (1 << 9)
#define CR4_OSXMMEXCPT    (1 << 10)
#define MSR_EFER          0xC0000080
#define EFER_LME          (1 << 8)
#define EFER_NXE          (1 << 11)
#define CPUID_EXT_NX      (1 << 20)
#define PTE_PRESENT_WRITE 0x3
#define PDE_2MIB_PAGE     0x83
#define PDE_PER_TABLE     512
/* SDM vol. 3, 6.3.1: vectors 0-31 are the CPU's exceptions. */
#define EXCEPTION_VECTORS    32
#define EXCEPTION_STUB_SIZE  16
#define IDT_INTERRUPT_GATE   0x8E00

/* Flat 4 GiB segments; accessed bits preset so the CPU never writes the GDT. */
.macro BOOT_GDT_ENTRIES
    .quad 0                         /* null */
    .quad 0x00CF9B000000FFFF        /* 0x08: 32-bit code */
    .quad 0x00AF9B000000FFFF        /* 0x10: 64-bit code (__BOOT_CS) */
    .quad 0x00CF93000000FFFF        /* 0x18: data (__BOOT_DS) */
.endm

/* Every data segment register to the flat data selector. */
.macro LOAD_DATA_SEGMENTS
    movl $SELECTOR_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
.endm

/* ---- ROM, run in place ------------------------------------------------- */

    .section .rom.reset16, "ax"
    .code16
    .globl reset16
reset16:
    cli
    cld
    /* TSC at reset, kept in EBP:ESP (no stack is used until long mode). */
    rdtsc
    movl %eax, %ebp
    movl %edx, %esp
    /* At reset CS base is 0xFFFF0000, so ROM addresses are CS-relative. */
    lgdtl %cs:(rom_gdt_descriptor - 0xFFFF0000)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $SELECTOR_CODE32, $protected_mode

    .balign 8
rom_gdt:
    BOOT_GDT_ENTRIES
rom_gdt_end:
rom_gdt_descriptor:
    .word rom_gdt_end - rom_gdt - 1
    .long rom_gdt

    .code32
protected_mode:
    LOAD_DATA_SEGMENTS

    /* The 64-bit image: copy it from its ROM load address, zero .bss. */
    movl $__image_load_address, %esi
    movl $__image_start, %edi
    movl $__image_copy_size, %ecx
    rep movsb
    xorl %eax, %eax
    movl $__bss_start, %edi
    movl $__bss_size, %ecx
    rep stosb

    /* Identity-map 0..4 GiB: PML4[0] -> PDPT, PDPT[i] -> PD i, 2 MiB pages. */
    movl $STAGE0_PAGE_TABLES_BASE, %edi
    movl $STAGE0_PAGE_TABLES_SIZE, %ecx
    rep stosb
    movl $(STAGE0_PDPT_BASE | PTE_PRESENT_WRITE), STAGE0_PML4_BASE
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $(STAGE0_PD_BASE | PTE_PRESENT_WRITE), %eax
    movl %eax, STAGE0_PDPT_BASE(, %ecx, 8)
    incl %ecx
    cmpl $STAGE0_PD_COUNT, %ecx
    jb 1b
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $PDE_2MIB_PAGE, %eax
    movl %eax, STAGE0_PD_BASE(, %ecx, 8)
    incl %ecx
    cmpl $(STAGE0_PD_COUNT * PDE_PER_TABLE), %ecx
    jb 2b

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl $STAGE0_PML4_BASE, %eax
    movl %eax, %cr3

    /* EFER: long mode, and no-execute when CPUID 0x80000001 EDX has it. */
    xorl %ebx, %ebx
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb 3f
    movl $0x80000001, %eax
    cpuid
    movl %edx, %ebx
3:  movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    testl $CPUID_EXT_NX, %ebx
    jz 4f
    orl $EFER_NXE, %eax
4:  wrmsr

    /* Paging on (long mode becomes active); SSE usable: Swift emits SSE moves;
     * caches on (CD and NW are set at reset). */
    movl %cr0, %eax
    andl $~(CR0_EM | CR0_TS | CR0_CD | CR0_NW), %eax
    orl $(CR0_PG | CR0_PE | CR0_MP | CR0_NE), %eax
    movl %eax, %cr0
    ljmpl $SELECTOR_CODE64, $long_mode

    .section .rom.reset_vector, "ax"
    .code16
    .globl reset_vector
reset_vector:
    jmp reset16
    .balign 16, 0xF4    /* hlt padding up to 4 GiB */

/* ---- RAM image ----------------------------------------------------------- */

    .section .text.long_mode, "ax"
    .code64
long_mode:
    movl %ebp, %edi                 /* TSC at reset -> first argument */
    movl %esp, %eax
    shlq $32, %rax
    orq %rax, %rdi
    movq $STAGE0_STACK_TOP, %rsp
    xorl %ebp, %ebp

    /* IDT: vector i -> exception_stubs + i * EXCEPTION_STUB_SIZE, as 64-bit
     * interrupt gates (SDM vol. 3, 6.14.1: offset 15:0, selector, type 0x8E
     * = present, DPL 0, interrupt gate; offset 31:16; offset 63:32). */
    leaq idt(%rip), %rsi
    leaq exception_stubs(%rip), %rax
    xorl %ecx, %ecx
7:  movl %eax, %edx
    andl $0xFFFF, %edx
    orl $(SELECTOR_CODE64 << 16), %edx
    movl %edx, (%rsi)
    movl %eax, %edx
    andl $0xFFFF0000, %edx
    orl $IDT_INTERRUPT_GATE, %edx
    movl %edx, 4(%rsi)
    movq %rax, %rdx
    shrq $32, %rdx
    movl %edx, 8(%rsi)
    addq $EXCEPTION_STUB_SIZE, %rax
    addq $16, %rsi
    incl %ecx
    cmpl $EXCEPTION_VECTORS, %ecx
    jb 7b
    lidt idt_descriptor(%rip)

    call stage0_main
5:  cli
    hlt
    jmp 5b

/* CPU exceptions: one stub per vector, each pushing -1 where the CPU
 * pushes no error code (so every frame is vector, error code, RIP, ...),
 * then the common path: an empty IDT first (an exception while reporting
 * triple-faults instead of recursing), then Swift's
 * stage0_exception(vector, error code, RIP, CR2), which logs and stops. */
    .section .text.exception_stubs, "ax"
    .balign EXCEPTION_STUB_SIZE
exception_stubs:
    .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign EXCEPTION_STUB_SIZE
    .if (\vector <> 8) && ((\vector < 10) || (\vector > 14)) && (\vector <> 17) && (\vector <> 21) && (\vector <> 29) && (\vector <> 30)
    pushq $-1
    .endif
    pushq $\vector
    jmp exception_common
    .endr

exception_common:
    cld                             /* the ABI's direction flag (memmove runs std) */
    lidt empty_idt_descriptor(%rip)
    popq %rdi                       /* vector */
    popq %rsi                       /* error code */
    movq (%rsp), %rdx               /* RIP of the faulting instruction */
    movq %cr2, %rcx
    movzbl kernel_entered(%rip), %r8d
    andq $-16, %rsp                 /* the ABI's call alignment */
    call stage0_exception
8:  cli
    hlt
    jmp 8b

    .section .rodata.idt_descriptors, "a"
    .balign 8
idt_descriptor:
    .word EXCEPTION_VECTORS * 16 - 1
    .quad idt
empty_idt_descriptor:
    .word 0
    .quad 0

    .section .bss.idt, "aw", @nobits
    .balign 16
idt:
    .skip EXCEPTION_VECTORS * 16
/* Set by stage0_enter_kernel: an exception after it is the kernel's. */
kernel_entered:
    .skip 1

/* void stage0_enter_kernel(uint64_t entry, uint64_t boot_params) */
    .section .text.stage0_enter_kernel, "ax"
    .globl stage0_enter_kernel
stage0_enter_kernel:
    cli
    movb $1, kernel_entered(%rip)
    lgdt kernel_gdt_descriptor(%rip)
    LOAD_DATA_SEGMENTS
    pushq $SELECTOR_CODE64
    leaq 6f(%rip), %rax
    pushq %rax
    lretq
6:  /* RSI already holds boot_params (second argument). */
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %ebp, %ebp
    jmp *%rdi

    .section .rodata.kernel_gdt, "a"
    .balign 8
kernel_gdt:
    BOOT_GDT_ENTRIES
kernel_gdt_end:
kernel_gdt_descriptor:
    .word kernel_gdt_end - kernel_gdt - 1
    .quad kernel_gdt
