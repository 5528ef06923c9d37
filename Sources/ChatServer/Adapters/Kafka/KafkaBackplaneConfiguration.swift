import KafkaWire

/// Settings of ``KafkaBackplane`` (the distributed backplane on Kafka through KafkaWire).
public struct KafkaBackplaneConfiguration: Sendable {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    public var bootstrap: String
    /// The messages topic, partitioned by the receiver's user hash (the reference's `messages-by-receiver`).
    public var topic = "messages-by-receiver"
    /// The config-changes topic every instance reads in full (the reference's `config-changes`).
    public var configTopic = "config-changes"
    /// Prefix of the consumer-group IDs (`<prefix>messaging`, `<prefix>chats`); lets deployments share a cluster.
    public var groupPrefix = ""
    /// Replication factor for topics this backplane creates (-1: the broker default).
    public var replicationFactor: Int16 = -1
    /// How long the producer waits to fill a batch.
    public var linger: Duration = .milliseconds(2)
    /// Kafka client ID (also in broker logs).
    public var clientID = "wirestack-chat"
    /// How often the live consumer commits the positions it delivered (a new owner resumes there).
    public var liveCommitInterval: Duration = .milliseconds(500)
    /// Group session timeout of the durable (history/state) consumers.
    public var sessionTimeout: Duration = .seconds(10)
    /// How long a message may wait for Kafka (batching, retries while a broker is unreachable or
    /// leadership moves) before it is reported Lost (the producer's `deliveryTimeout`). The
    /// producer repairs its own idempotent state after a lost batch (it bumps its epoch), so a
    /// failure costs only the messages that failed.
    public var deliveryTimeout: Duration = .seconds(30)

    /// Settings for brokers at `bootstrap`, with the reference's topic names.
    public init(bootstrap: String) {
        self.bootstrap = bootstrap
    }

    var client: KafkaClientConfiguration {
        var client = KafkaClientConfiguration(bootstrap: bootstrap)
        client.clientID = clientID
        client.connectTimeout = .seconds(2)
        client.requestTimeout = .seconds(30)
        return client
    }
}
