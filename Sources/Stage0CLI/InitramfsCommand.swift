import ContainerImage
import Foundation

/// `stage0 initramfs IMAGE -o OUT [flags]`
struct InitramfsCommand {
    var image: String?
    var output: String?
    var flags = ConversionFlags()

    init(arguments: [String]) throws {
        var index = 0
        while index < arguments.count {
            if try flags.consume(arguments, at: &index) { continue }
            let argument = arguments[index]
            if argument == "-o" || argument == "--output" {
                guard index + 1 < arguments.count else { throw ContainerImageError.invalidOption(option: argument, reason: "needs a file") }
                output = arguments[index + 1]
                index += 2
            } else if argument.hasPrefix("-") && argument != "-" {
                throw ContainerImageError.invalidOption(option: argument, reason: "unknown option")
            } else if image == nil {
                image = argument
                index += 1
            } else {
                throw ContainerImageError.invalidOption(option: argument, reason: "unexpected argument (one IMAGE only)")
            }
        }
    }

    func run() throws {
        guard let image else { throw ContainerImageError.invalidOption(option: "IMAGE", reason: "missing; usage: stage0 initramfs IMAGE -o OUT") }
        guard let output else { throw ContainerImageError.invalidOption(option: "-o", reason: "missing; where to write the initramfs") }
        let started = Date()
        let input = try ImageInput.open(image)
        let summary = try InitramfsBuilder.build(image: input.image, options: try flags.options(), output: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        FileHandle.standardError.write(Data("stage0: \(input.image.format) \(image) -> \(output): \(summary.entries) entries, \(size) bytes, \(seconds) s\n".utf8))
    }
}
