import Foundation

/// The widest vector instructions the engine's own kernels use on this machine.
///
/// The engine is compiled for AVX2 + FMA (haswell). On a CPU whose kernel reports AVX-512
/// (`avx512f` among the flags of /proc/cpuinfo, which Linux clears when it does not save the
/// AVX-512 register state), the stride-1 direct convolution runs its AVX-512 register blocks
/// (module TensorEngineAVX512) instead. `RKD_SIMD=avx2` keeps the AVX2 kernels (for comparisons and
/// for machines where AVX-512 lowers the clock more than it gains).
public enum SIMDLevel: String, Sendable, CaseIterable {
    case avx2
    case avx512

    /// The level the engine uses: the widest the CPU has, unless `RKD_SIMD` asks for less.
    public static let active: SIMDLevel = {
        let requested = ProcessInfo.processInfo.environment["RKD_SIMD"].flatMap(SIMDLevel.init(rawValue:))
        let available = detected
        if let requested, requested == .avx2 || available == .avx512 { return requested }
        return available
    }()

    /// What the CPU and the operating system support.
    public static let detected: SIMDLevel = {
        guard let flags = cpuinfoLine("flags") else { return .avx2 }
        let set = Set(flags.split(separator: " ").map(String.init))
        return set.contains("avx512f") ? .avx512 : .avx2
    }()

    /// The CPU's model name ("unknown CPU" where /proc/cpuinfo has none), for benchmark reports.
    public static let cpuModel: String = cpuinfoLine("model name") ?? "unknown CPU"

    /// The value of the first /proc/cpuinfo line named `name`.
    private static func cpuinfoLine(_ name: String) -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
            let value = line.split(separator: ":", maxSplits: 1).dropFirst().first
        else { return nil }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// This level if the CPU has it, else AVX2.
    public var supported: SIMDLevel { self == .avx512 && Self.detected != .avx512 ? .avx2 : self }
}
