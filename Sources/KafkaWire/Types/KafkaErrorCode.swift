/// Kafka protocol error codes (the subset a client acts on; others keep their raw number in ``KafkaError``).
public enum KafkaErrorCode: Int16, Sendable, Hashable {
    case unknownServerError = -1, noError = 0, offsetOutOfRange = 1, corruptMessage = 2, unknownTopicOrPartition = 3
    case invalidFetchSize = 4, leaderNotAvailable = 5, notLeaderOrFollower = 6, requestTimedOut = 7
    case brokerNotAvailable = 8, replicaNotAvailable = 9, messageTooLarge = 10, networkException = 13
    case coordinatorLoadInProgress = 14, coordinatorNotAvailable = 15, notCoordinator = 16, invalidTopic = 17
    case recordListTooLarge = 18, notEnoughReplicas = 19, notEnoughReplicasAfterAppend = 20, invalidRequiredAcks = 21
    case illegalGeneration = 22, inconsistentGroupProtocol = 23, invalidGroupID = 24, unknownMemberID = 25
    case invalidSessionTimeout = 26, rebalanceInProgress = 27, topicAuthorizationFailed = 29
    case groupAuthorizationFailed = 30, clusterAuthorizationFailed = 31, invalidTimestamp = 32
    case unsupportedSASLMechanism = 33, illegalSASLState = 34, unsupportedVersion = 35, topicAlreadyExists = 36
    case invalidPartitions = 37, invalidReplicationFactor = 38, invalidConfig = 40, notController = 41
    case invalidRequest = 42, policyViolation = 44, outOfOrderSequenceNumber = 45, duplicateSequenceNumber = 46
    case invalidProducerEpoch = 47, invalidTxnState = 48, invalidProducerIDMapping = 49
    case invalidTransactionTimeout = 50, concurrentTransactions = 51, transactionCoordinatorFenced = 52
    case kafkaStorageError = 56, saslAuthenticationFailed = 58, unknownProducerID = 59
    case groupIDNotFound = 69, fencedLeaderEpoch = 74, unknownLeaderEpoch = 75, unsupportedCompressionType = 76
    case offsetNotAvailable = 78, memberIDRequired = 79, preferredLeaderNotAvailable = 80, groupMaxSizeReached = 81
    case fencedInstanceID = 82, nonEmptyGroup = 68, throttlingQuotaExceeded = 89, producerFenced = 90
    case unknownTopicID = 100, fencedMemberEpoch = 110, unreleasedInstanceID = 111, unsupportedAssignor = 112

    /// Whether retrying the request (after a metadata refresh or backoff) may succeed.
    public var isRetriable: Bool {
        switch self {
        case .corruptMessage, .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower, .requestTimedOut,
             .replicaNotAvailable, .networkException, .coordinatorLoadInProgress, .coordinatorNotAvailable,
             .notCoordinator, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .notController,
             .concurrentTransactions, .kafkaStorageError, .fencedLeaderEpoch, .unknownLeaderEpoch,
             .offsetNotAvailable, .preferredLeaderNotAvailable, .throttlingQuotaExceeded, .unknownTopicID,
             .brokerNotAvailable:
            true
        default:
            false
        }
    }

    /// Whether the error means the client's view of leaders is stale.
    public var invalidatesMetadata: Bool {
        switch self {
        case .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower, .fencedLeaderEpoch,
             .unknownLeaderEpoch, .kafkaStorageError, .unknownTopicID, .brokerNotAvailable:
            true
        default: false
        }
    }

    /// Whether the error means the group/transaction coordinator moved.
    public var invalidatesCoordinator: Bool {
        self == .notCoordinator || self == .coordinatorNotAvailable
    }
}

/// An error code returned by a broker.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The raw error code.
    public var rawCode: Int16
    /// What the client was doing (API, topic/partition or group).
    public var context: String
    /// The broker's error message, if it sent one.
    public var message: String?

    /// The known error code, or nil for codes this client does not name.
    public var code: KafkaErrorCode? { KafkaErrorCode(rawValue: rawCode) }
    /// Whether retrying may succeed.
    public var isRetriable: Bool { code?.isRetriable ?? false }

    /// Creates an error.
    public init(code: Int16, context: String, message: String? = nil) {
        self.rawCode = code
        self.context = context
        self.message = message
    }

    /// Creates an error from a known code.
    public init(_ code: KafkaErrorCode, context: String, message: String? = nil) {
        self.init(code: code.rawValue, context: context, message: message)
    }

    /// A readable description.
    public var description: String {
        let name = code.map { "\($0)" } ?? "error \(rawCode)"
        return "Kafka \(name) (\(rawCode)) in \(context)" + (message.map { ": \($0)" } ?? "")
    }

    /// Throws if `code` is not 0.
    @inlinable
    public static func check(_ code: Int16, _ context: @autoclosure () -> String, message: String? = nil) throws(KafkaError) {
        if code != 0 { throw KafkaError(code: code, context: context(), message: message) }
    }
}
