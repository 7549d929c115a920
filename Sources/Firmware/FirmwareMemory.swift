import Loader
import Support

/// memory_layout.h as typed regions: what the firmware owns, for the e820
/// map and for checking that nothing the kernel brings lands on it.
enum FirmwareMemory {
    static let pageTables = region(STAGE0_PAGE_TABLES_BASE, STAGE0_PAGE_TABLES_SIZE)
    static let zeroPage = region(STAGE0_ZERO_PAGE_BASE, STAGE0_ZERO_PAGE_SIZE)
    static let commandLine = region(STAGE0_CMDLINE_BASE, STAGE0_CMDLINE_CAPACITY)
    static let image = region(STAGE0_IMAGE_BASE, STAGE0_IMAGE_SIZE)
    static let stack = region(STAGE0_STACK_BASE, STAGE0_STACK_TOP - STAGE0_STACK_BASE)
    static let heap = region(STAGE0_HEAP_BASE, STAGE0_HEAP_SIZE)
    /// Everything the firmware owns in RAM, reserved in e820 as one piece.
    static let all = region(STAGE0_RAM_BASE, STAGE0_RAM_END - STAGE0_RAM_BASE)
    /// VGA memory and the BIOS area (0xA0000..0x100000): never RAM on a PC,
    /// and the ROM's alias lives at its top.
    static let legacyArea = PhysicalRegion(start: 0xA_0000, end: 0x10_0000)

    /// The MP tables: the last KiB of base memory, below the legacy area.
    static let mpTable = region(STAGE0_MP_TABLE_BASE, STAGE0_MP_TABLE_SIZE)

    /// The FSEG zone of the ACPI table-loader, inside the legacy area.
    static let acpiFSEG = region(STAGE0_ACPI_FSEG_BASE, STAGE0_ACPI_FSEG_SIZE)
    static let acpiHighSize = UInt64(STAGE0_ACPI_HIGH_SIZE)

    static var reservations: [MemoryReservation] {
        [MemoryReservation(.pageTables, pageTables), MemoryReservation(.zeroPage, zeroPage),
         MemoryReservation(.commandLine, commandLine), MemoryReservation(.firmware, image),
         MemoryReservation(.stack, stack), MemoryReservation(.heap, heap),
         MemoryReservation(.legacyArea, legacyArea)]
    }

    /// memory_layout.h's macros arrive as C ints.
    private static func region<T: BinaryInteger>(_ start: T, _ size: T) -> PhysicalRegion {
        PhysicalRegion(start: PhysicalAddress(UInt64(start)), size: UInt64(size))
    }
}
