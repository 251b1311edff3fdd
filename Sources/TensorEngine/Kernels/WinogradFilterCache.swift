import Foundation
import Synchronization

/// The transformed, packed Winograd filters of recently used weights, so that passes over unchanged
/// weights (an attack's steps, the passes of a Robust-KD step through the frozen teacher, inference
/// over many batches) do not transform them again: a PGD-7 adversarial-training step runs eight
/// forward and seven input-gradient passes per weight update.
///
/// An entry is found by the exact bits of the weights it was made from (the cache keeps a copy), so
/// a hit returns the very array a fresh transform would: results never depend on the cache. Least
/// recently used entries go first once the entries hold more than `budget` floats; an entry larger
/// than the budget is not kept.
final class WinogradFilterCache: Sendable {
    /// What the packed filters depend on besides the weights.
    struct Key: Hashable {
        /// 2 for F(2×2, 3×3), 4 for F(4×4, 3×3).
        var tile: Int
        /// The weights' (K, C) of a (K, C, 3, 3) tensor.
        var outChannels: Int
        var inChannels: Int
        /// The input gradient's filters (flipped, channel axes swapped) rather than the forward's.
        var adjoint: Bool
        /// Packed for the channel-lane kernel ((36, C, K), WinogradLanes.swift) rather than the
        /// tile-lane one.
        var lanes: Bool = false
    }

    struct Entry {
        var key: Key
        var weights: [Float]
        var filters: [Float]
        var floats: Int { weights.count + filters.count }
    }

    struct State {
        /// Least recently used first.
        var entries: [Entry] = []
        var floats = 0
        var hits = 0
        var misses = 0
    }

    /// The process's cache.
    static let shared = WinogradFilterCache(budget: 6 << 20)

    /// Floats the entries may hold (weights and filters together).
    let budget: Int
    private let state = Mutex(State())

    init(budget: Int) {
        self.budget = budget
    }

    /// The filters for `count` weights at `weights` under `key`: a kept entry's, or `make()`'s, then
    /// kept.
    func filters(_ key: Key, weights: UnsafePointer<Float>, count: Int, make: () -> [Float]) -> [Float] {
        let bytes = count * MemoryLayout<Float>.stride
        let found: [Float]? = state.withLock { state in
            guard
                let index = state.entries.lastIndex(where: { entry in
                    entry.key == key && entry.weights.count == count
                        && entry.weights.withUnsafeBytes { stored in
                            stored.baseAddress.map { memcmp($0, weights, bytes) == 0 } ?? (count == 0)
                        }
                })
            else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            let entry = state.entries.remove(at: index)
            state.entries.append(entry)
            return entry.filters
        }
        if let found { return found }
        let made = make()
        let entry = Entry(key: key, weights: Array(UnsafeBufferPointer(start: weights, count: count)), filters: made)
        guard entry.floats <= budget else { return made }
        state.withLock { state in
            state.entries.append(entry)
            state.floats += entry.floats
            while state.floats > budget {
                state.floats -= state.entries.removeFirst().floats
            }
        }
        return made
    }

    /// Lookups that found their filters, and lookups that made them, since the process started.
    var statistics: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }

    /// Drops every entry.
    func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.floats = 0
        }
    }
}
