/// The ID of the one-to-one chat between two users: `"<smaller ID>-<larger ID>"`, as in the reference.
public struct ChatID: Hashable, Sendable, CustomStringConvertible {
    /// The smaller user ID.
    public let lowerUserID: Int64
    /// The larger user ID.
    public let higherUserID: Int64

    /// The chat between `a` and `b` (order does not matter).
    public init(_ a: Int64, _ b: Int64) {
        lowerUserID = min(a, b)
        higherUserID = max(a, b)
    }

    /// Parses `"<id>-<id>"`; `nil` if the text is not two positive IDs.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]), a > 0, b > 0 else { return nil }
        self.init(a, b)
    }

    /// The textual chat ID.
    public var description: String { "\(lowerUserID)-\(higherUserID)" }

    /// The participant that is not `userID`.
    public func otherUser(than userID: Int64) -> Int64 {
        userID == lowerUserID ? higherUserID : lowerUserID
    }

    /// Whether `userID` takes part in this chat.
    public func contains(_ userID: Int64) -> Bool {
        userID == lowerUserID || userID == higherUserID
    }
}
