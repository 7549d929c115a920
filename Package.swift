// swift-tools-version: 6.0
//
// Two graphs from one package:
// - host (default): the pure loader library and its tests, ordinary Swift,
//   for `swift test`.
// - firmware (STAGE0_FIRMWARE=1, set by the Makefile together with
//   `--triple x86_64-unknown-none-elf --toolset toolchain.json`): the same
//   loader library compiled as Embedded Swift, the reset code and hardware
//   support in C/asm, and the firmware's boot flow, as one static library
//   that the Makefile links with linker/stage0.ld.S.
import PackageDescription

let buildingFirmware = Context.environment["STAGE0_FIRMWARE"] == "1"

let loader = Target.target(name: "Loader", path: "Sources/Loader")

let firmwareTargets: [Target] = [
    .target(name: "Support", path: "Sources/Support"),
    .target(name: "Firmware", dependencies: ["Loader", "Support"], path: "Sources/Firmware"),
]

let hostTargets: [Target] = [
    .testTarget(name: "LoaderTests", dependencies: ["Loader"], path: "Tests/LoaderTests",
                resources: [.copy("Fixtures")]),
    // Containers (issue 3): image -> initramfs on the host, /init in the guest.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                   providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                   providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
                   providers: [.apt(["libssl-dev"])]),
    .target(name: "ContainerImage", dependencies: ["CZlib", "CZstd", "CCrypto"], path: "Sources/ContainerImage"),
    .executableTarget(name: "stage0", dependencies: ["ContainerImage"], path: "Sources/Stage0CLI"),
    // The guest's /init. mk/container.mk builds the real one as a static
    // Embedded Swift binary with swiftc; this host build lets the tests
    // exercise its logic.
    .systemLibrary(name: "CInitSystem", path: "Sources/CInitSystem"),
    .executableTarget(name: "stage0-init", dependencies: ["CInitSystem"], path: "Sources/ContainerInit"),
    .testTarget(name: "ContainerImageTests", dependencies: ["ContainerImage", "stage0", "stage0-init"],
                path: "Tests/ContainerImageTests"),
]

let package = Package(
    name: "stage0",
    products: buildingFirmware
        ? [.library(name: "Stage0Firmware", type: .static, targets: ["Firmware"])]
        : [.library(name: "Loader", targets: ["Loader"]),
           .library(name: "ContainerImage", targets: ["ContainerImage"]),
           .executable(name: "stage0", targets: ["stage0"]),
           .executable(name: "stage0-init", targets: ["stage0-init"])],
    targets: [loader] + (buildingFirmware ? firmwareTargets : hostTargets)
)
