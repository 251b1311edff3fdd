import Foundation
import ONNXChecker
import SwiftProtobuf

/// What libonnx's own checker says about a model.
public struct CheckerVerdict: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        /// libonnx's checker (and shape inference, when asked for) accepts the model.
        case valid
        /// libonnx rejects the model; `message` is its explanation.
        case invalid
        /// The model is newer than libonnx knows (opset or IR version), or the checker could not run
        /// on it; `message` says which, and any findings are advice, not a verdict.
        case advisory
    }

    public var status: Status
    /// libonnx's findings, or why the verdict is advisory; empty when the model is valid.
    public var message: String
    /// The highest default-domain opset libonnx knows (17 for Debian's libonnx 1.12).
    public var checkerOpset: Int

    public init(status: Status, message: String, checkerOpset: Int) {
        self.status = status
        self.message = message
        self.checkerOpset = checkerOpset
    }
}

extension ONNXModel {
    /// The highest default-domain opset libonnx's checker knows.
    public static var checkerOpset: Int { Int(rkd_onnx_highest_opset("")) }

    /// The highest IR version libonnx's checker accepts.
    public static var checkerIRVersion: Int { Int(rkd_onnx_ir_version()) }

    /// Runs libonnx's checker (`onnx::checker::check_model`) on the model, and with `inferShapes`
    /// also non-strict shape inference, as a second opinion beside rkd's own validation.
    ///
    /// Shape inference is off by default because it is not safe on untrusted input: libonnx 1.12's
    /// inference functions crash the process on some malformed models (a Conv with a stride of 0
    /// divides by zero, SIGFPE, found by FuzzTests; onnx/onnx#6180, #6185 and #6195 fixed others
    /// in 2024, long after 1.12). A crash is not an exception, so the shim cannot catch it. Pass
    /// `true` only for trusted models or in a process that may die.
    ///
    /// Import policy: `ImportedGraph` does not require a `.valid` verdict. The importer validates
    /// everything it uses itself (limits, shapes, data sizes, cycles, missing inputs), and libonnx
    /// 1.12 rejects some models that onnxruntime runs happily (newer IR versions, stricter type
    /// rules), so the verdict is surfaced (`rkdctl inspect` shows it) rather than enforced. A model
    /// whose opset or IR version is newer than libonnx knows gets `.advisory`: its IR version is
    /// checked as libonnx's own and any findings are reported, not held against it. Models with
    /// external data are not given to libonnx at all (1.12 resolves the location on this machine's
    /// file system) and get `.advisory`.
    ///
    /// libonnx is C++ running in this process: run the check in the job's worker process, as the
    /// import itself, not in the daemon's control plane.
    public func check(inferShapes: Bool = false) -> CheckerVerdict {
        let known = ONNXModel.checkerOpset
        let knownIR = ONNXModel.checkerIRVersion
        let bytes: Data
        do {
            bytes = try proto.serializedBytes()
        } catch {
            return CheckerVerdict(
                status: .advisory,
                message: "the checker was not run: the model cannot be re-serialised (\(error))",
                checkerOpset: known
            )
        }
        var newer: [String] = []
        if opsetVersion > known {
            newer.append("opset \(opsetVersion) (libonnx knows up to \(known))")
        }
        if proto.irVersion > knownIR {
            newer.append("IR version \(proto.irVersion) (libonnx knows up to \(knownIR))")
        }
        var options: Int32 = inferShapes ? Int32(RKD_ONNX_CHECK_INFER_SHAPES) : 0
        if !newer.isEmpty { options |= Int32(RKD_ONNX_CHECK_CLAMP_IR_VERSION) }
        var raw: UnsafeMutablePointer<CChar>?
        let status = bytes.withUnsafeBytes { buffer in
            rkd_onnx_check_model(buffer.baseAddress, buffer.count, options, &raw)
        }
        let text = raw.map { String(cString: $0) } ?? ""
        rkd_onnx_free_message(raw)
        let findings = text.isEmpty ? "libonnx reported no error" : text

        switch status {
        case RKD_ONNX_CHECK_VALID where newer.isEmpty:
            return CheckerVerdict(status: .valid, message: "", checkerOpset: known)
        case RKD_ONNX_CHECK_VALID, RKD_ONNX_CHECK_INVALID:
            if newer.isEmpty {
                return CheckerVerdict(status: .invalid, message: findings, checkerOpset: known)
            }
            return CheckerVerdict(
                status: .advisory,
                message: "the model uses \(newer.joined(separator: " and ")), newer than libonnx's checker "
                    + "knows, so its findings are advisory: \(findings)",
                checkerOpset: known
            )
        case RKD_ONNX_CHECK_NOT_RUN:
            return CheckerVerdict(status: .advisory, message: "not checked: \(findings)", checkerOpset: known)
        case RKD_ONNX_CHECK_UNPARSEABLE:
            // The model parsed in Swift; libprotobuf disagreeing is itself a finding.
            return CheckerVerdict(status: .invalid, message: findings, checkerOpset: known)
        default:
            return CheckerVerdict(
                status: .advisory,
                message: "the checker failed internally: \(findings)",
                checkerOpset: known
            )
        }
    }
}
