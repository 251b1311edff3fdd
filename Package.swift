// swift-tools-version: 6.1
// rkd — hardens and audits image classifiers against adversarial examples.
// Layers import downward only; see ../shared/docs/DESIGN.md and README.md for the target map.
import PackageDescription

/// Settings shared by every Swift target.
let defaultSwiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The numeric code is always optimised, even in debug builds, so that `swift test` runs the real
/// kernels at speed. CPU baseline: x86-64 with AVX2 and FMA (Haswell, 2013, and later); see README.
let numericSwiftSettings: [SwiftSetting] =
    defaultSwiftSettings + [
        .unsafeFlags(["-O", "-target-cpu", "haswell"])
    ]

/// The AVX-512 kernels: one module compiled for skylake-avx512, called only on CPUs that have it.
let avx512SwiftSettings: [SwiftSetting] =
    defaultSwiftSettings + [
        .unsafeFlags(["-O", "-target-cpu", "skylake-avx512"])
    ]

let package = Package(
    name: "rkd",
    products: [
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "ONNXInterop", targets: ["ONNXInterop"]),
        .library(name: "Attacks", targets: ["Attacks"]),
        .library(name: "Audit", targets: ["Audit"]),
        .executable(name: "EngineBench", targets: ["EngineBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
    ],
    targets: [
        // ---- System libraries -------------------------------------------------------------
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        .systemLibrary(name: "CMalloc"),

        // ---- Engine -----------------------------------------------------------------------
        .target(
            name: "TensorEngine",
            dependencies: ["COpenBLAS", "CMalloc", "CKernels512", "TensorEngineAVX512"],
            swiftSettings: numericSwiftSettings
        ),
        .target(
            name: "TensorEngineAVX512",
            dependencies: ["CKernels512"],
            swiftSettings: avx512SwiftSettings
        ),
        .target(
            name: "CKernels512",
            cSettings: [.unsafeFlags(["-O3", "-mavx512f"])]
        ),
        .target(
            name: "TensorEngineTestSupport",
            dependencies: ["TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "TensorEngineTests",
            dependencies: ["TensorEngine", "TensorEngineTestSupport"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Neural networks --------------------------------------------------------------
        .target(
            name: "NN",
            dependencies: ["TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "NNTests",
            dependencies: ["NN", "TensorEngine", "TensorEngineTestSupport"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Attacks ------------------------------------------------------------------------
        // The audit suite over any differentiable classifier (AttackModel): FGSM, PGD, MI-FGSM,
        // C&W-L2, APGD-CE/-T, FAB-T, Square and the AutoAttack standard ensemble.
        .target(
            name: "Attacks",
            dependencies: ["NN", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "AttacksTests",
            dependencies: ["Attacks", "NN", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Audit ---------------------------------------------------------------------------
        // The audit plan, its resumable runner, metrics (Wilson intervals, per class, worst case),
        // reliability checks and report writers. No RPC, no files: DaemonCore does the I/O.
        .target(
            name: "Audit",
            dependencies: ["Attacks", "NN", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "AuditTests",
            dependencies: ["Audit", "Attacks", "NN", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Training ------------------------------------------------------------------------
        // Standard and adversarial training (PGD-AT with the audit's PGD); teachers are made here.
        .target(
            name: "Training",
            dependencies: ["Attacks", "NN", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Attacks", "NN", "TensorEngine", "TensorEngineTestSupport"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Distillation -------------------------------------------------------------------
        // Robust-KD (feature cosine/L2 and projected-Jacobian terms, exact or finite-difference), the
        // feature adapters, and the distillation baselines.
        .target(
            name: "Distillation",
            dependencies: ["NN", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "DistillationTests",
            dependencies: ["Distillation", "Attacks", "NN", "TensorEngine", "TensorEngineTestSupport", "Training"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- ONNX ---------------------------------------------------------------------------
        // C API over Debian's libonnx 1.12 checker; the defines are those of its CMake package
        // (/usr/lib/x86_64-linux-gnu/cmake/ONNX/ONNXTargets.cmake).
        .target(
            name: "ONNXChecker",
            cxxSettings: [
                .define("ONNX_NAMESPACE", to: "onnx"),
                .define("ONNX_ML", to: "1"),
            ],
            linkerSettings: [
                .linkedLibrary("onnx"),
                .linkedLibrary("onnx_proto"),
                .linkedLibrary("protobuf"),
            ]
        ),
        .target(
            name: "ONNXInterop",
            dependencies: [
                "NN", "TensorEngine", "ONNXChecker",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "ONNXInteropTests",
            dependencies: [
                "ONNXInterop", "NN", "NPY", "TensorEngine", "TensorEngineTestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Daemon -------------------------------------------------------------------------
        // NumPy .npy files (rkdctl predict, the daemon's Predict); no engine, so the CLI may use it.
        .target(name: "NPY", swiftSettings: defaultSwiftSettings),
        .testTarget(name: "NPYTests", dependencies: ["NPY"], swiftSettings: defaultSwiftSettings),
        // The gRPC API, generated from proto/rkd/v1/*.proto by proto/generate-api.sh (checked in).
        .target(
            name: "DaemonAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        // Job specs, the job state machine, the SQLite job store and the artifact store.
        .target(
            name: "Jobs",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "JobsTests",
            dependencies: ["Jobs"],
            swiftSettings: defaultSwiftSettings
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "DaemonCore",
            dependencies: [
                "Attacks", "Audit", "CSystemd", "DaemonAPI", "Datasets", "Jobs", "ONNXInterop", "NN", "TensorEngine",
                "NPY", "Training", "Distillation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "DaemonCoreTests",
            dependencies: [
                "Attacks", "DaemonCore", "DaemonAPI", "Datasets", "Distillation", "Jobs", "NN", "NPY", "ONNXInterop",
                "TensorEngine", "Training",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        .executableTarget(
            name: "rkdd",
            dependencies: [
                "DaemonCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        // TEST FIXTURE, not a product: the real daemon with a "countdown" executor for audit jobs, so the
        // job runner's queueing, cancellation, SIGTERM and crash recovery are tested end to end
        // (DaemonCoreTests run the built binary, which `swift build --build-tests` builds like every
        // target; a test-target dependency on it would make its imports clash with SystemdTests'
        // glibc structs under MemberImportVisibility). Real audit executors arrive with the audit.
        .executableTarget(
            name: "rkdd-testjobs",
            dependencies: ["DaemonCore", "Jobs"],
            path: "Tests/Fixtures/rkdd-testjobs",
            swiftSettings: defaultSwiftSettings
        ),

        // ---- Data sets ----------------------------------------------------------------------
        // Debian's zlib, for the .gz data-set files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // IDX (MNIST, Fashion-MNIST) and CIFAR-10 readers, the data-set catalog, selections and batches.
        // No engine dependency: batches are [Float] + shape. Optimised like the engine: it converts
        // millions of pixels per load.
        .target(
            name: "Datasets",
            dependencies: ["CZlib"],
            swiftSettings: numericSwiftSettings
        ),
        .testTarget(
            name: "DatasetsTests",
            dependencies: ["Datasets"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- CLI --------------------------------------------------------------------------
        // rkdctl: one file per subcommand; talks only gRPC (DaemonAPI) and reads/writes .npy (NPY),
        // never the engine. Its tests run the built binary (`swift build --build-tests` builds it).
        .executableTarget(
            name: "rkdctl",
            dependencies: [
                "DaemonAPI", "NPY",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        // Runs the built rkdctl; FakeDaemon serves the API on a temporary socket. The --help snapshots
        // are read from the source tree (#filePath), not bundled.
        .testTarget(
            name: "rkdctlTests",
            dependencies: [
                "DaemonAPI", "NPY",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Snapshots"],
            swiftSettings: defaultSwiftSettings
        ),

        // ---- Sample models ------------------------------------------------------------------
        // Trains the classifiers in samples/models/ with rkd's engine (`make samples`).
        .executableTarget(
            name: "SampleModels",
            dependencies: ["Datasets", "NN", "ONNXInterop", "TensorEngine"],
            swiftSettings: numericSwiftSettings
        ),

        // ---- Benchmarks -------------------------------------------------------------------
        .executableTarget(
            name: "EngineBench",
            dependencies: ["TensorEngine", "NN", "ONNXInterop", "TensorEngineTestSupport", "TensorEngineAVX512"],
            swiftSettings: numericSwiftSettings
        ),
        .executableTarget(
            name: "AttackBench",
            dependencies: ["Attacks", "Datasets", "Distillation", "NN", "ONNXInterop", "TensorEngine", "Training"],
            swiftSettings: numericSwiftSettings
        ),
    ]
)
