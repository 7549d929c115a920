/// Loading an ELF vmlinux from an fw_cfg file: read and check the headers,
/// check every segment's destination, and only then write memory, reading
/// each segment by DMA straight to p_paddr and zeroing its tail.
public struct ELFLoading<Ports: FwCfgPorts, Memory: GuestMemory> {
    public let fwCfg: FwCfg<Ports>
    public let memory: Memory

    public init(fwCfg: FwCfg<Ports>, memory: Memory) {
        self.fwCfg = fwCfg
        self.memory = memory
    }

    /// Reads and checks headers and placement; writes nothing to guest memory.
    public func inspect(_ file: FwCfgFile, map: E820Map, avoiding reserved: [MemoryReservation]) throws(BootError) -> ELFKernel {
        let headerLength = Int(min(UInt64(ELFKernel.headerSize), file.size))
        let header = ScratchBuffer(count: headerLength)
        try fwCfg.read(file, into: header.bytes)
        let kernel = try ELFKernel.parseHeader(header.readOnly, fileSize: file.size)
        let tableLocation = kernel.programHeaderTable
        let table = ScratchBuffer(count: tableLocation.size)
        try fwCfg.read(file, at: tableLocation.offset, into: table.bytes)
        let parsed = try kernel.parsingSegments(table.readOnly, fileSize: file.size)
        try parsed.checkPlacement(in: map, avoiding: reserved)
        return parsed
    }

    /// Writes the segments of an inspected kernel into guest memory.
    public func load(_ kernel: ELFKernel, from file: FwCfgFile) throws(BootError) {
        // In file order, so the device's read position only moves forward.
        var inFileOrder = kernel.segments
        inFileOrder.insertionSort(by: { $0.fileOffset < $1.fileOffset })
        for segment in inFileOrder {
            let destination = memory.bytes(of: segment.memory)
            try fwCfg.read(file, at: segment.fileOffset,
                           into: UnsafeMutableRawBufferPointer(rebasing: destination[0..<Int(segment.fileSize)]))
            UnsafeMutableRawBufferPointer(rebasing: destination[Int(segment.fileSize)...])
                .initializeMemory(as: UInt8.self, repeating: 0)
        }
    }
}
