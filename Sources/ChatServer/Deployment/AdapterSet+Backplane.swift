import Logging
import ServiceLifecycle

extension AdapterSet {
    /// The backplane of this deployment. The embedded, SQLite-persisted log is the only one built
    /// in so far; a Kafka address is refused until the KafkaWire adapter lands (issue 9, part B).
    public func makeBackplane(config: DynamicConfig, logger: Logger) throws -> any Backplane & Service {
        if let kafka = deployment.kafka {
            throw ChatDeployment.SettingError(description: "kafka=\(kafka): the Kafka backplane adapter is not part of this build yet")
        }
        let backplane = EmbeddedBackplane(db: local.backplane, partitionCount: config.values.partitionCount, logger: logger)
        config.onChange { section, values in
            if section == "partitioning" { backplane.setPartitionCount(values.partitionCount) }
        }
        return backplane
    }
}
