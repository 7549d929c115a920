import Testing
@testable import ContainerImage
@testable import stage0_init
@testable import stage0

@Suite struct RunConfigurationTests {
    let image = ImageConfig(entrypoint: ["/ep"], cmd: ["default"], env: ["PATH=/bin", "A=1"], workingDir: "/w", user: "app")

    @Test func imageConfigIsUsedWithoutFlags() {
        let run = RunConfiguration(image: image, overrides: RunOverrides(), hostname: "h")
        #expect(run.entrypoint == ["/ep"] && run.cmd == ["default"] && run.workdir == "/w" && run.user == "app")
    }

    @Test func entrypointFlagDropsTheImageCmdAsDockerDoes() {
        let run = RunConfiguration(image: image, overrides: RunOverrides(entrypoint: ["/other"]), hostname: "h")
        #expect(run.entrypoint == ["/other"] && run.cmd == [])
        let both = RunConfiguration(image: image, overrides: RunOverrides(entrypoint: ["/other"], cmd: ["x"]), hostname: "h")
        #expect(both.cmd == ["x"])
    }

    @Test func envFlagReplacesSameNamedVariables() {
        let run = RunConfiguration(image: image, overrides: RunOverrides(env: ["A=2", "B=3"]), hostname: "h")
        #expect(run.env == ["PATH=/bin", "A=2", "B=3"])
    }

    @Test func configFileRoundTripsThroughTheInitsParser() throws {
        var run = RunConfiguration(image: image, overrides: RunOverrides(cmd: ["with space", "new\nline", "a=b"]), hostname: "host")
        run.env.append("EMPTY=")
        let parsed = try parseContainerConfig(run.encoded())
        #expect(parsed == ContainerConfig(entrypoint: run.entrypoint, cmd: run.cmd, env: run.env, workdir: "/w", user: "app", hostname: "host"))
    }
}

@Suite struct InitCommandTests {
    @Test func argsReplaceCmdAndFollowTheEntrypoint() throws {
        #expect(try containerArguments(entrypoint: ["/ep"], cmd: ["c"], overrideArguments: nil) == ["/ep", "c"])
        #expect(try containerArguments(entrypoint: ["/ep"], cmd: ["c"], overrideArguments: ["x"]) == ["/ep", "x"])
        #expect(try containerArguments(entrypoint: [], cmd: ["c", "d"], overrideArguments: nil) == ["c", "d"])
        #expect(throws: InitError.self) { try containerArguments(entrypoint: [], cmd: [], overrideArguments: nil) }
    }

    @Test func dockerDefaultsFillTheEnvironment() {
        let env = containerEnvironment(["A=1", "A=2"], hostname: "h", home: "/root")
        #expect(env == ["PATH=" + defaultPath, "A=2", "HOSTNAME=h", "HOME=/root"])
        #expect(containerEnvironment(["PATH=/x", "HOME=/h"], hostname: "h", home: "/root") == ["PATH=/x", "HOME=/h", "HOSTNAME=h"])
    }

    @Test func argumentsAfterDashesAreDecoded() {
        let line = "console=ttyS0 quiet unknown -- /bin/sh -c echo%20%22hi%22%25 \"\" 100%"
        #expect(argumentsAfterDashes(line) == ["/bin/sh", "-c", "echo \"hi\"%", "", "100%"])
        #expect(argumentsAfterDashes("console=ttyS0 quiet") == nil)
        #expect(argumentsAfterDashes("a -- ") == nil)
    }

    @Test func runnerEncodingRoundTripsThroughTheInit() {
        let arguments = ["sh", "-c", "echo \"$X\" 100% \t done", "", "ünï"]
        let line = "console=ttyS0 --" + arguments.map { " " + encodeInitArgument($0) }.joined()
        #expect(argumentsAfterDashes(line) == arguments)
    }

    @Test func missingCommandsAre127AndNonExecutablesAre126() throws {
        let files: Set<String> = ["/bin/ok", "/etc/data"]
        let exec: (String) -> Bool = { $0 == "/bin/ok" }
        #expect(try resolveExecutable("ok", path: "/usr/bin:/bin", isExecutableFile: exec, exists: files.contains) == "/bin/ok")
        #expect(throws: InitError.cannotStart(message: "exec: \"nope\": executable file not found in $PATH", status: 127)) {
            try resolveExecutable("nope", path: "/bin", isExecutableFile: exec, exists: files.contains)
        }
        #expect(throws: InitError.cannotStart(message: "exec: \"data\": permission denied", status: 126)) {
            try resolveExecutable("data", path: "/etc", isExecutableFile: exec, exists: files.contains)
        }
    }

    @Test func usersResolveByNameUidAndGroup() throws {
        let passwd = parsePasswd("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n")
        let groups = parseGroups("root:x:0:\napp:x:1001:\nextra:x:2000:app,other\n")
        #expect(try resolveUser("", passwd: passwd, groups: groups) == ResolvedUser(uid: 0, gid: 0, supplementaryGroups: [0], home: "/root"))
        #expect(try resolveUser("app", passwd: passwd, groups: groups) == ResolvedUser(uid: 1000, gid: 1001, supplementaryGroups: [1001, 2000], home: "/home/app"))
        #expect(try resolveUser("1000:extra", passwd: passwd, groups: groups).gid == 2000)
        #expect(try resolveUser("4242:7", passwd: passwd, groups: groups) == ResolvedUser(uid: 4242, gid: 7, supplementaryGroups: [7], home: "/"))
        #expect(throws: InitError.self) { try resolveUser("nobody", passwd: passwd, groups: groups) }
        #expect(throws: InitError.self) { try resolveUser("app:nogroup", passwd: passwd, groups: groups) }
    }
}

@Suite struct ConsoleFilterTests {
    @Test func bootNoiseIsHiddenAndTheStatusParsed() {
        var filter = ConsoleFilter(showBootLog: false)
        let console = "stage0: started\r\n[    0.123] Linux\r\nhello\r\npartial" + "STAGE0_EXIT_STATUS=42\r\n[ 1.0] reboot\r\n"
        let shown = String(decoding: filter.feed(Array(console.utf8)), as: UTF8.self)
        #expect(shown == "hello\npartial")
        #expect(filter.exitStatus == 42)
        #expect(filter.hiddenTail == ["stage0: started", "[    0.123] Linux"])
    }

    @Test func statusSplitAcrossReadsIsFound() {
        var filter = ConsoleFilter(showBootLog: false)
        var shown: [UInt8] = []
        for chunk in ["out\nSTAGE0_EX", "IT_STA", "TUS=1", "27\n"] { shown += filter.feed(Array(chunk.utf8)) }
        #expect(String(decoding: shown, as: UTF8.self) == "out\n")
        #expect(filter.exitStatus == 127)
    }
}
