/// The Wilson score interval of a binomial proportion (Wilson 1927): for k successes in n trials at
/// z = 1.96, the 95 % interval (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n). Unlike the
/// normal approximation it stays inside [0, 1] and is sensible at 0 and n.
public func wilsonInterval(successes k: Int, trials n: Int, z: Double = 1.959964) -> ClosedRange<Double> {
    guard n > 0 else { return 0...1 }
    let p = Double(k) / Double(n)
    let nn = Double(n)
    let denominator = 1 + z * z / nn
    let centre = (p + z * z / (2 * nn)) / denominator
    let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / denominator
    return max(0, centre - half)...min(1, centre + half)
}
