import DaemonAPI
import Foundation
import Synchronization

/// Prints a job's events as `jobs watch` shows them: a redrawn progress bar on a terminal, plain lines on
/// a pipe (progress at most once per whole percent or phase change), or one JSON object per event.
final class WatchRenderer: Sendable {
    enum Mode: Sendable {
        case terminal
        case lines
        case json
        /// Nothing is printed (a command that prints one JSON object at the end).
        case silent
    }

    private struct State {
        var lastSeq: UInt64 = 0
        var progress: Rkd_V1_Progress?
        var barShown = false
        var printedPhase: String?
        var printedPercent: Int?
        var printedAt: ContinuousClock.Instant?
    }

    let mode: Mode
    private let state = Mutex(State())

    init(mode: Mode) { self.mode = mode }

    /// The seq of the last event handled: where a re-attached WatchJob resumes.
    var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    func handle(_ event: Rkd_V1_JobEvent) throws {
        let json = mode == .json ? try JSONOutput.encoder(pretty: false).encode(JobEventJSON(event)) : nil
        state.withLock { state in
            state.lastSeq = max(state.lastSeq, event.seq)
            if mode == .silent { return }
            if let json {
                emit(String(decoding: json, as: UTF8.self), state: &state)
                return
            }
            switch event.event {
            case .stateChange(let change):
                var line = "state: \(change.fromState.name) → \(change.toState.name)"
                if change.attempt > 1 { line += " (attempt \(change.attempt))" }
                if !change.reason.isEmpty { line += ": \(change.reason)" }
                if change.hasError { line += "\n  error \(change.error.code): \(change.error.message)" }
                emit(stamp(event) + line, state: &state)
            case .log(let log):
                emit(stamp(event) + "\(log.level.name): \(log.message)", state: &state)
            case .progress(let progress):
                show(progress, event: event, state: &state)
            case nil:
                break
            }
        }
    }

    /// Ends the bar's line, so that what follows starts on a fresh one.
    func finish() {
        state.withLock { state in
            if state.barShown {
                FileHandle.standardOutput.write(Data("\n".utf8))
                state.barShown = false
            }
        }
    }

    private func stamp(_ event: Rkd_V1_JobEvent) -> String {
        event.hasTime ? "\(event.time.local)  " : ""
    }

    private func show(_ progress: Rkd_V1_Progress, event: Rkd_V1_JobEvent, state: inout State) {
        state.progress = progress
        switch mode {
        case .terminal:
            let line = ProgressBar.line(progress, columns: terminalColumns)
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
            state.barShown = true
        case .lines:
            let percent = progress.total > 0 ? Int(Double(progress.done) / Double(progress.total) * 100) : nil
            let now = ContinuousClock.now
            let due =
                state.printedPhase != progress.phase || (percent != nil && percent != state.printedPercent)
                || (percent == nil && state.printedAt.map { now - $0 >= .seconds(1) } ?? true)
            guard due else { return }
            state.printedPhase = progress.phase
            state.printedPercent = percent
            state.printedAt = now
            emit(stamp(event) + "progress: " + JobText.progressDetail(progress), state: &state)
        case .json, .silent:
            break
        }
    }

    /// Prints a whole line; on a terminal, above the bar, which is then drawn again.
    private func emit(_ line: String, state: inout State) {
        var text = line + "\n"
        if mode == .terminal, state.barShown {
            text = "\r\u{1B}[2K" + text
            if let progress = state.progress {
                text += ProgressBar.line(progress, columns: terminalColumns)
            }
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
