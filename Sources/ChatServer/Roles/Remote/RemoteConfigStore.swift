import ChatWire

/// The ``ConfigStore`` port of a config role run by another process (`chatwire.internal.Config`).
public struct RemoteConfigStore: ConfigStore {
    let remote: RemoteRole

    /// The config role behind `remote`.
    public init(remote: RemoteRole) { self.remote = remote }

    public func elements() async throws -> [ConfigElement] {
        try await remote.call(InternalMethods.Config.elements, Chatwire_Internal_GetConfigElementsRequest(), idempotent: true).elements.map(\.model)
    }

    public func update(_ request: ConfigUpdateRequest) async throws -> Set<String> {
        var message = Chatwire_Internal_UpdateConfigElementsRequest()
        message.existingElements = request.existingElements.map(Chatwire_Internal_ConfigElement.init)
        message.newElements = request.newElements.map(Chatwire_Internal_ConfigElement.init)
        message.deletedElements = request.deletedElements.map(Chatwire_Internal_ConfigElement.init)
        // Guarded by the elements' versions: a repeat is refused as a concurrent update.
        let response = try await remote.call(InternalMethods.Config.update, message, idempotent: false)
        if response.success { return Set(response.changedSections) }
        if response.newElementsExist { throw ConfigUpdateError.newElementsExist }
        if response.concurrentlyUpdated { throw ConfigUpdateError.concurrentlyUpdated }
        throw ConfigUpdateError.invalid(response.invalid.map { ValidationFailure($0.property, $0.message) })
    }
}
