import Atomics
import Logging
import NIOCore
import WireCore

/// One TCP connection to one broker: many requests in flight, matched to responses by correlation id.
///
/// Created by ``connect(to:nodeID:configuration:logger:)``, which negotiates API versions (ApiVersions)
/// and authenticates (SASL) before returning.
public final class KafkaBrokerConnection: PooledConnection, Sendable {
    /// The broker's node id (-1 for a bootstrap connection).
    public let nodeID: Int32
    /// The address connected to.
    public let address: KafkaBrokerAddress
    let channel: any Channel
    let correlation = ManagedAtomic<Int32>(0)
    let clientID: String
    let requestTimeout: Duration
    /// The versions both sides support, by API key: highest common version.
    public let negotiatedVersions: [Int16: Int16]

    init(channel: any Channel, nodeID: Int32, address: KafkaBrokerAddress, clientID: String, requestTimeout: Duration, versions: [Int16: Int16]) {
        self.channel = channel
        self.nodeID = nodeID
        self.address = address
        self.clientID = clientID
        self.requestTimeout = requestTimeout
        self.negotiatedVersions = versions
    }

    /// False once the connection has closed.
    public var isUsable: Bool { channel.isActive }

    /// Closes the connection; outstanding requests fail.
    public func close() async {
        try? await channel.close()
    }

    /// The version to use for `api`: the highest both this client and the broker support.
    public func version(for api: KafkaAPI) throws(KafkaConnectionError) -> Int16 {
        guard let v = negotiatedVersions[api.rawValue] else { throw .unsupportedAPI(api) }
        return v
    }

    /// Whether the broker supports `api` at all.
    public func supports(_ api: KafkaAPI) -> Bool { negotiatedVersions[api.rawValue] != nil }

    /// Sends a request and decodes its response at the negotiated (or given) version.
    public func send(_ api: KafkaAPI, _ body: KafkaStruct, version: Int16? = nil, timeout: Duration? = nil) async throws -> KafkaStruct {
        let v = try version ?? self.version(for: api)
        var frame = try await sendRaw(api, body, version: v, expectResponse: true, timeout: timeout)!
        do {
            return try KafkaFraming.decodeResponse(api: api, version: v, frame: &frame)
        } catch {
            // A response we cannot parse leaves the stream in an unknown state: close it.
            channel.close(promise: nil)
            throw KafkaConnectionError.protocolViolation("\(api) v\(v) response: \(error)")
        }
    }

    /// Sends an encoded request; returns the raw response frame (nil when `expectResponse` is false).
    public func sendRaw(_ api: KafkaAPI, _ body: KafkaStruct, version: Int16, expectResponse: Bool, timeout: Duration? = nil) async throws -> ByteBuffer? {
        let id = correlation.wrappingIncrementThenLoad(ordering: .relaxed)
        var buffer = channel.allocator.buffer(capacity: 256)
        try KafkaFraming.encodeRequest(api: api, version: version, correlationID: id, clientID: clientID, body: body, into: &buffer)
        return try await Self.write(channel: channel, frame: buffer, correlationID: id, expectResponse: expectResponse, api: api, timeout: timeout ?? requestTimeout)
    }

    static func write(channel: any Channel, frame: ByteBuffer, correlationID: Int32, expectResponse: Bool, api: KafkaAPI, timeout: Duration) async throws -> ByteBuffer? {
        guard expectResponse else {
            do {
                try await channel.writeAndFlush(KafkaOutboundRequest(frame: frame, correlationID: correlationID, response: nil))
            } catch {
                // The broker closed the connection (Tansu does so around acks=0 produces): a
                // connection error, which callers retry on a new connection.
                throw KafkaConnectionError.closed("\(api) request not written: \(error)")
            }
            return nil
        }
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let request = KafkaOutboundRequest(frame: frame, correlationID: correlationID, response: promise)
        // A write that fails (connection already closed) fails the request now, not at its timeout.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in promise.fail(KafkaConnectionError.closed("\(api) request not written: \(error)")) }
        channel.writeAndFlush(request, promise: written)
        let nanos = Int64(timeout.components.seconds) * 1_000_000_000 + Int64(timeout.components.attoseconds / 1_000_000_000)
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
            promise.fail(KafkaConnectionError.timedOut(api))
            channel.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return try await promise.futureResult.get()
    }

    /// Connects to `address`, negotiates versions and authenticates.
    public static func connect(
        to address: KafkaBrokerAddress, nodeID: Int32, configuration: KafkaClientConfiguration, logger: Logger
    ) async throws -> KafkaBrokerConnection {
        let maxFrame = configuration.maxResponseSize
        let target = configuration.addressTranslator?(address) ?? address
        let transport = ConnectionConfiguration(endpoint: .tcp(host: target.host, port: target.port),
                                                connectTimeout: configuration.connectTimeout, tcpNoDelay: true, tls: configuration.tls)
        let channel: any Channel
        do {
            channel = try await WireConnector.connect(transport) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: maxFrame)))
                    try channel.pipeline.syncOperations.addHandler(KafkaConnectionHandler())
                }
            }
        } catch {
            throw KafkaConnectionError.connectFailed("\(address): \(error)")
        }
        do {
            let versions = try await negotiate(channel: channel, clientID: configuration.clientID, timeout: configuration.requestTimeout)
            let connection = KafkaBrokerConnection(channel: channel, nodeID: nodeID, address: address, clientID: configuration.clientID,
                                                   requestTimeout: configuration.requestTimeout, versions: versions)
            if let sasl = configuration.sasl {
                try await KafkaSASLAuthenticator.authenticate(connection, mechanism: sasl)
            }
            logger.debug("connected to Kafka broker", metadata: ["broker": "\(address)", "node": "\(nodeID)"])
            return connection
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// ApiVersions: try v3 (flexible); a broker that does not know it answers UNSUPPORTED_VERSION with v0 layout.
    static func negotiate(channel: any Channel, clientID: String, timeout: Duration) async throws -> [Int16: Int16] {
        var attempt: Int16 = 3
        var correlationID: Int32 = -100
        while true {
            correlationID -= 1
            var buffer = channel.allocator.buffer(capacity: 64)
            let body: KafkaStruct = ["ClientSoftwareName": "kafkawire", "ClientSoftwareVersion": "1.0"]
            try KafkaFraming.encodeRequest(api: .apiVersions, version: attempt, correlationID: correlationID, clientID: clientID, body: body, into: &buffer)
            var frame = try await write(channel: channel, frame: buffer, correlationID: correlationID, expectResponse: true, api: .apiVersions, timeout: timeout)!
            let response: KafkaStruct
            do {
                response = try KafkaFraming.decodeResponse(api: .apiVersions, version: attempt, frame: &frame)
            } catch {
                if attempt > 0 { attempt = 0; continue }
                throw KafkaConnectionError.protocolViolation("ApiVersions response: \(error)")
            }
            let code = response.int16("ErrorCode")
            if code == KafkaErrorCode.unsupportedVersion.rawValue && attempt > 0 { attempt = 0; continue }
            guard code == 0 else { throw KafkaError(code: code, context: "ApiVersions") }
            var versions: [Int16: Int16] = [:]
            for entry in response.structs("ApiKeys") {
                let key = entry.int16("ApiKey")
                guard let api = KafkaAPI(rawValue: key) else { continue }
                let ours = api.request.versions
                let lo = max(ours.lowerBound, entry.int16("MinVersion")), hi = min(ours.upperBound, entry.int16("MaxVersion"))
                if lo <= hi { versions[key] = hi }
            }
            return versions
        }
    }
}
