/// How far a running job has got in its current phase.
public struct JobProgress: Codable, Hashable, Sendable {
    /// What the job is doing, e.g. `training epoch 3/10`.
    public var phase: String
    /// Units of work done in this phase.
    public var done: Int
    /// Units of work in this phase; 0 when unknown.
    public var total: Int
    /// What a unit is, e.g. `examples`.
    public var unit: String
    /// Units per second; 0 when not yet known.
    public var rate: Double
    /// Seconds to the end of the phase; `nil` when unknown.
    public var etaSeconds: Double?

    /// Creates a progress report.
    public init(phase: String, done: Int, total: Int, unit: String, rate: Double = 0, etaSeconds: Double? = nil) {
        self.phase = phase
        self.done = done
        self.total = total
        self.unit = unit
        self.rate = rate
        self.etaSeconds = etaSeconds
    }
}
