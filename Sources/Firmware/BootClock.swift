import Loader
import Support

/// Time since reset, from the TSC read by the first instructions of
/// entry.S. The TSC's rate is measured once against the 8254 PIT
/// (1.193182 MHz), whose rate is fixed by the hardware.
struct BootClock {
    static let pitFrequency: UInt64 = 1_193_182
    static let pitChannel0: UInt16 = 0x40
    static let pitCommand: UInt16 = 0x43
    /// Channel 0, lobyte/hibyte, mode 2 (rate generator), binary.
    static let pitProgramChannel0: UInt8 = 0x34
    static let pitLatchChannel0: UInt8 = 0x00
    /// About 0.5 ms of PIT ticks: enough for a 0.5% estimate.
    static let calibrationTicks: UInt64 = 597

    let resetTSC: UInt64
    /// Nil when there is no PIT to measure against.
    let ticksPerSecond: UInt64?

    init(resetTSC: UInt64) {
        self.resetTSC = resetTSC
        ticksPerSecond = BootClock.measureTSCFrequency()
    }

    var now: UInt64 { read_tsc() }

    /// Under KVM, Linux reads the TSC rate from kvmclock. Under TCG it must
    /// measure it: with ACPI's hardware-reduced mode it has no PIT to measure
    /// against and stops at "tsc: Unable to calibrate against PIT"; without
    /// ACPI its PIT calibration insists on prompt PIT reads, which a busy
    /// host does not give, and it hangs the same way. (The firmware's own
    /// measurement divides two real-time clocks and does not care.) CPUID
    /// leaf 0x40000000 carries the hypervisor's signature, "KVMKVMKVM\0\0\0".
    static var linuxCanLearnTSCRate: Bool {
        let signature = cpuid(0x4000_0000, 0)
        return signature.ebx == 0x4B4D_564B && signature.ecx == 0x564B_4D56 && signature.edx == 0x4D
    }

    /// "12.345 ms", or TSC ticks when the rate is unknown.
    func elapsed(since start: UInt64, until end: UInt64) -> Message {
        let ticks = end &- start
        guard let rate = ticksPerSecond, rate >= 1_000_000 else { return "\(ticks) TSC ticks" }
        return "\(milliseconds: ticks / (rate / 1_000_000))"
    }

    func sinceReset() -> Message { elapsed(since: resetTSC, until: now) }

    @inline(never)
    private static func readPIT() -> UInt64 {
        port_write8(pitCommand, pitLatchChannel0)
        let low = UInt64(port_read8(pitChannel0))
        return low | UInt64(port_read8(pitChannel0)) << 8
    }

    /// A PIT count and the TSC at the moment it was read: the midpoint of
    /// two TSC reads around it. Under emulation the vCPU can be descheduled
    /// in the middle of a read; a sample whose TSC reads lie far apart is
    /// taken again, so one such pause cannot skew the rate.
    private static func sample() -> (tsc: UInt64, count: UInt64) {
        var best: (tsc: UInt64, count: UInt64, spread: UInt64) = (0, 0, UInt64.max)
        for _ in 0..<sampleAttempts {
            let before = read_tsc()
            let count = readPIT()
            let after = read_tsc()
            let spread = after &- before
            if spread < best.spread { best = (before &+ spread / 2, count, spread) }
            if spread < trustedSampleSpread { break }
        }
        return (best.tsc, best.count)
    }

    /// TSC ticks a PIT read may take and still be trusted (a few µs at any rate seen).
    static let trustedSampleSpread: UInt64 = 50_000
    static let sampleAttempts = 8

    private static func measureTSCFrequency() -> UInt64? {
        port_write8(pitCommand, pitProgramChannel0)
        port_write8(pitChannel0, 0xFF)
        port_write8(pitChannel0, 0xFF)
        let start = sample()
        // Bounded: without a PIT the count never moves.
        for _ in 0..<200_000 {
            let count = readPIT()
            guard count <= start.count else { return nil }   // wrapped or not a PIT
            if start.count - count >= calibrationTicks {
                let end = sample()
                guard end.count < start.count else { return nil }
                return (end.tsc &- start.tsc) * pitFrequency / (start.count - end.count)
            }
        }
        return nil
    }
}

/// How long each step of the boot took, logged as one line before the
/// jump ("stage0: steps: fw_cfg 2.125 ms, e820 ..."), so a slow boot says
/// which step was slow. Built up as the steps finish: no table to keep.
struct StepTimes {
    private let clock: BootClock
    private var stepStart: UInt64
    private(set) var line: Message = "stage0: steps:"
    private var separator: StaticString = " "

    init(_ clock: BootClock) {
        self.clock = clock
        stepStart = clock.now
    }

    @inline(never)
    mutating func finished(_ step: StaticString) {
        let now = clock.now
        line.append(message: "\(separator)\(step) \(clock.elapsed(since: stepStart, until: now))")
        separator = ", "
        stepStart = now
    }
}
