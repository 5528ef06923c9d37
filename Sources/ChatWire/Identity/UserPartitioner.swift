/// The reference system's user-to-partition mapping.
///
/// The hash is the reference's `FnvHash`: start at 92821, then for each 16-bit chunk of the
/// 64-bit user ID from most to least significant, read as a signed 16-bit value and sign-extended,
/// `hash = (hash &* 486187739) ^ chunk` in 32-bit two's complement. The partition is
/// `abs(hash) % partitionCount`. The same function picks the messaging server of a user, so a
/// user's devices and their inbound traffic meet on one server.
public enum UserPartitioner {
    /// The reference's 32-bit FNV-style hash of a user ID.
    public static func hash(_ userID: Int64) -> Int32 {
        let chunks: [Int16] = [
            Int16(truncatingIfNeeded: userID >> 48),
            Int16(truncatingIfNeeded: userID >> 32),
            Int16(truncatingIfNeeded: userID >> 16),
            Int16(truncatingIfNeeded: userID),
        ]
        var hash: Int32 = 92821
        let prime: Int32 = 486_187_739
        for chunk in chunks {
            hash = (hash &* prime) ^ Int32(chunk)
        }
        return hash
    }

    /// The partition (0..<partitionCount) of `userID`.
    ///
    /// For the one hash value whose absolute value does not fit in 32 bits (`Int32.min`) the
    /// reference throws an overflow; here its magnitude 2^31 is used instead.
    public static func partition(of userID: Int64, partitionCount: Int) -> Int {
        precondition(partitionCount > 0, "partition count must be positive")
        let h = hash(userID)
        return Int(h.magnitude % UInt32(partitionCount))
    }
}
