import ChatWire
import Foundation
import Logging
import ServiceLifecycle

/// How one chat-server instance takes part in a multi-instance deployment, derived from its
/// ``ChatDeployment`` (the one source of truth: flags, `CHAT_*` variables, config file).
public struct ScaleOutConfiguration: Sendable {
    /// This instance's server ID in the dynamic config's `partitioning.partitions` (`0=0-5;1=6-11`).
    public var serverID: String
    /// The Kafka backplane; `nil` keeps the embedded in-process backplane (one instance).
    public var kafka: KafkaBackplaneConfiguration?

    /// The settings of `deployment`: its server ID, and with a Kafka bootstrap, the backplane with
    /// the deployment's topic/group prefix and session timeout.
    public init(deployment: ChatDeployment) {
        serverID = String(deployment.serverID)
        if let bootstrap = deployment.kafka {
            var backplane = KafkaBackplaneConfiguration(bootstrap: bootstrap)
            backplane.topic = deployment.kafkaPrefix + backplane.topic
            backplane.configTopic = deployment.kafkaPrefix + backplane.configTopic
            backplane.groupPrefix = deployment.kafkaPrefix
            backplane.sessionTimeout = .milliseconds(deployment.kafkaSessionTimeoutMilliseconds)
            kafka = backplane
        }
    }
}

/// The composition-root pieces of the backplane and of partition ownership (called from
/// ``ChatServer/makeApplication(configuration:logger:onServerRunning:)``).
public enum ScaleOut {
    /// The configured backplane: Kafka when `configuration.kafka` is set (topics are created or
    /// grown first), otherwise the embedded log in `databases`.
    public static func makeBackplane(_ configuration: ScaleOutConfiguration, databases: SQLiteDatabases, partitionCount: Int,
                                     logger: Logger) async throws -> any Backplane & Service {
        guard let kafka = configuration.kafka else {
            return EmbeddedBackplane(db: databases.backplane, partitionCount: partitionCount, logger: logger)
        }
        let backplane = KafkaBackplane(configuration: kafka, partitionCount: partitionCount, logger: logger)
        do {
            try await backplane.prepareTopics()
        } catch {
            await backplane.shutdown()
            throw error
        }
        return backplane
    }

    /// What ``join(_:config:configStore:ownership:logger:)`` returns.
    public struct Membership: Sendable {
        /// The config store the admin API must write through (announces changes to the other instances).
        public var configStore: any ConfigStore
        /// Services to run beside the server (the config-changes feed).
        public var services: [any Service]
    }

    /// Joins the deployment: applies this instance's partition assignment (and follows later
    /// changes), and with Kafka, follows the config-changes topic so a change made on any
    /// instance reloads the dynamic config everywhere.
    /// Without an `ownership` (no messaging role in this process) no partition is assigned to the
    /// live consumer.
    public static func join(_ configuration: ScaleOutConfiguration, config: DynamicConfig, configStore: any ConfigStore,
                            ownership: PartitionOwnership?, logger: Logger) async throws -> Membership {
        await ownership?.start(config: config)
        guard let kafka = configuration.kafka else { return Membership(configStore: configStore, services: []) }
        let changes = KafkaConfigChanges(configuration: kafka, origin: "\(configuration.serverID)-\(UUID().uuidString)", logger: logger)
        await changes.follow { sections in
            do {
                try await config.reload(changedSections: sections)
            } catch {
                logger.error("config reload after a change failed", metadata: ["sections": "\(sections.sorted())", "error": "\(error)"])
            }
        }
        return Membership(configStore: AnnouncingConfigStore(base: configStore, feed: changes),
                          services: [ConfigChangesService(changes: changes)])
    }
}

/// Runs the config-changes feed until graceful shutdown.
struct ConfigChangesService: Service {
    let changes: KafkaConfigChanges

    func run() async throws {
        try? await gracefulShutdown()
        await changes.shutdown()
    }
}
