// Drives a program inside a detached tmux session for end-to-end terminal tests.
//
// Each session uses its own server socket (`tmux -L <unique> -f /dev/null`: no user config, no
// clash with other tests or the user's tmux), runs `sh` in a pane of a fixed size, and is killed in
// `close()`. Screens are read with `capture-pane`; `waitFor` polls instead of sleeping a fixed time.
import Foundation

/// A private tmux server with one pane running `sh`.
public final class TmuxSession {
    /// The tmux executable, if installed.
    public static var executable: URL? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin", "/opt/homebrew/bin"] {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("tmux")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    private let tmux: URL
    private let socket: String
    private let environment: [String: String]
    private var closed = false

    /// Starts a server and a `columns x rows` session. `environment` is the server's (and so the
    /// shell's) environment; `LANG=C.UTF-8` is added unless given.
    public init(columns: Int, rows: Int, environment: [String: String] = [:]) throws {
        guard let tmux = Self.executable else { throw TmuxError(message: "tmux is not installed") }
        self.tmux = tmux
        socket = "glia-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        if environment["LANG"] == nil { env["LANG"] = "C.UTF-8" }
        env.removeValue(forKey: "TMUX")
        self.environment = env
        try run(["new-session", "-d", "-s", "main", "-x", "\(columns)", "-y", "\(rows)", "sh"])
    }

    deinit { close() }

    /// Kills the server (and whatever still runs in it).
    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? run(["kill-server"])
    }

    /// Types `line` into the shell and presses Enter.
    public func typeLine(_ line: String) throws {
        try sendLiteral(line)
        try send("Enter")
    }

    /// Sends tmux key names (`j`, `Tab`, `BTab`, `Escape`, `C-c`, `PageDown`, ...).
    public func send(_ keys: String...) throws {
        try run(["send-keys", "-t", "main"] + keys)
    }

    /// Sends `text` as literal input bytes (e.g. a raw mouse report).
    public func sendLiteral(_ text: String) throws {
        try run(["send-keys", "-t", "main", "-l", text])
    }

    /// Runs any tmux command on this server (`set -g allow-passthrough on`, ...); its output.
    @discardableResult
    public func command(_ arguments: String...) throws -> String {
        try run(arguments)
    }

    /// Resizes the window (the program gets SIGWINCH).
    public func resize(columns: Int, rows: Int) throws {
        try run(["resize-window", "-t", "main", "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// The pane's screen: text only, or with SGR escapes (`escapes`); wrapped lines joined. With
    /// `history`, the lines scrolled off the top come first.
    public func capture(escapes: Bool = false, history: Bool = false) throws -> String {
        try run(["capture-pane", "-p", "-J", "-t", "main"] + (escapes ? ["-e"] : []) + (history ? ["-S", "-"] : []))
    }

    /// Whether the pane is in the alternate screen (a full-screen program is running).
    public func alternateScreenOn() throws -> Bool {
        try run(["display-message", "-p", "-t", "main", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    /// The process id of the pane's shell.
    public func panePID() throws -> pid_t {
        let text = try run(["display-message", "-p", "-t", "main", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = pid_t(text) else { throw TmuxError(message: "tmux gave no pane pid: '\(text)'") }
        return pid
    }

    /// Polls the screen every 50 ms until `condition` holds (returns that screen) or `timeout`
    /// seconds pass (throws, showing the last screen).
    @discardableResult
    public func waitFor(_ what: String, timeout: Double = 10, escapes: Bool = false,
                        _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture(escapes: escapes)
            if condition(screen) { return screen }
            usleep(50_000)
        }
        throw TmuxError(message: "timed out after \(timeout) s waiting for \(what); screen was:\n\(screen)")
    }

    /// Waits until the screen contains `text`.
    @discardableResult
    public func waitFor(text: String, timeout: Double = 10) throws -> String {
        try waitFor("'\(text)'", timeout: timeout) { $0.contains(text) }
    }

    /// Runs one tmux command with posix_spawn, output through temporary files. Foundation's
    /// Process is not used: it notices a child's exit through a descriptor the forked tmux server
    /// inherits and keeps open, so `new-session` would never seem to finish.
    @discardableResult
    private func run(_ arguments: [String]) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket)-\(UUID().uuidString.prefix(8))")
        let outPath = base.path + ".out", errPath = base.path + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = [tmux.path, "-L", socket, "-f", "/dev/null"] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = envp.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, tmux.path, &actions, nil, &cArgs, &cEnv)
        guard spawned == 0 else { throw TmuxError(message: "cannot start tmux (error \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        // Exited normally with status 0: the low 7 bits (signal) and the exit code are all zero.
        guard status == 0 else {
            let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw TmuxError(message: "tmux \(arguments.joined(separator: " ")) failed: \(errors)")
        }
        return output
    }
}

/// A tmux command that failed or a screen that never appeared.
public struct TmuxError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    /// An error with this message.
    public init(message: String) { self.message = message }
}
