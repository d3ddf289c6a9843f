/// 64-bit FNV-1a. Stable across processes (unlike `Hasher`): a user hashes the same after a
/// restart (intent counters keep 8 bytes per user instead of the id; collisions at 10,000
/// users per product are around 1 in 10^11, negligible for a displayed count), and a
/// stream has the same home event loop in every run.
package enum FNV1a {
    package static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
