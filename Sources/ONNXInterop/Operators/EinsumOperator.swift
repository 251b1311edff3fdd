import Foundation
import TensorEngine

/// Einsum for the patterns attention and classifier heads use: one or two operands, explicit or
/// implicit output, labels summed out, batch labels, contractions (as one batched matrix product, so
/// differentiable to any order). Not supported, with a clear error: ellipses, a label repeated within
/// one operand (diagonals), more than two operands, batch labels whose sizes differ.
enum EinsumOperator {
    static let all: [(String, OperatorRegistry.Implementation)] = [("Einsum", einsum)]

    static func einsum(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["equation"])
        let equation = c.string("equation", default: "").filter { !$0.isWhitespace }
        guard !equation.contains(".") else {
            throw c.error(.unsupported, "equation '\(equation)': ellipses (...) are not supported; write out the axes")
        }
        let sides = equation.components(separatedBy: "->")
        let operandLabels = sides[0].split(separator: ",", omittingEmptySubsequences: false).map { Array($0) }
        let inputs = try (0..<operandLabels.count).map { try c.tensor($0) }
        guard (1...2).contains(inputs.count), sides.count <= 2 else {
            throw c.error(.unsupported, "equation '\(equation)': one or two operands are supported")
        }
        var sizes: [Character: Int] = [:]
        for (labels, x) in zip(operandLabels, inputs) {
            guard labels.count == x.rank, Set(labels).count == labels.count, labels.allSatisfy(\.isLetter) else {
                throw c.error(
                    .unsupported,
                    "equation '\(equation)': operand of shape \(x.shape) needs one distinct letter per axis "
                        + "(diagonals are not supported)"
                )
            }
            for (label, size) in zip(labels, x.shape) {
                if let known = sizes[label], known != size {
                    throw c.error(
                        .invalidGraph,
                        "equation '\(equation)': label \(label) has sizes \(known) and \(size)"
                    )
                }
                sizes[label] = size
            }
        }
        let all = operandLabels.flatMap { $0 }
        let output: [Character] =
            sides.count == 2 ? Array(sides[1]) : Set(all).filter { l in all.filter { $0 == l }.count == 1 }.sorted()
        guard Set(output).count == output.count, output.allSatisfy({ sizes[$0] != nil }) else {
            throw c.error(.invalidGraph, "equation '\(equation)': the output labels must be distinct input labels")
        }

        // Sum out, in each operand, the labels that appear nowhere else.
        var operands: [(labels: [Character], tensor: Tensor)] = []
        for (k, (labels, x)) in zip(operandLabels, inputs).enumerated() {
            let elsewhere = Set(output).union(operandLabels.enumerated().filter { $0.offset != k }.flatMap(\.element))
            let summed = labels.indices.filter { !elsewhere.contains(labels[$0]) }
            let kept = labels.filter { elsewhere.contains($0) }
            operands.append((kept, summed.isEmpty ? x : x.sum(axes: summed)))
        }
        var labels: [Character]
        var result: Tensor
        if operands.count == 1 {
            (labels, result) = operands[0]
        } else {
            let (la, a) = operands[0]
            let (lb, b) = operands[1]
            let batch = la.filter { lb.contains($0) && output.contains($0) }
            let contracted = la.filter { lb.contains($0) && !output.contains($0) }
            let freeA = la.filter { !lb.contains($0) }
            let freeB = lb.filter { !la.contains($0) }
            func size(_ ls: [Character]) -> Int { ls.reduce(1) { $0 * (sizes[$1] ?? 1) } }
            let aPerm = (batch + freeA + contracted).compactMap { la.firstIndex(of: $0) }
            let bPerm = (batch + contracted + freeB).compactMap { lb.firstIndex(of: $0) }
            let a3 = a.transposed(aPerm).reshaped([size(batch), size(freeA), size(contracted)])
            let b3 = b.transposed(bPerm).reshaped([size(batch), size(contracted), size(freeB)])
            labels = batch + freeA + freeB
            result = batchedMatmul(a3, b3).reshaped(labels.map { sizes[$0] ?? 1 })
        }
        // Labels kept but not in the output (only with an explicit output) are summed; then reorder.
        let extra = labels.indices.filter { !output.contains(labels[$0]) }
        if !extra.isEmpty {
            result = result.sum(axes: extra)
            labels = labels.filter { output.contains($0) }
        }
        let permutation = output.compactMap { labels.firstIndex(of: $0) }
        return [.float(permutation == Array(0..<permutation.count) ? result : result.transposed(permutation))]
    }
}
