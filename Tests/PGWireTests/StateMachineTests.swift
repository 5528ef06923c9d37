import NIOCore
@testable import PGWire
import Testing

@Suite struct StateMachineTests {
    final class Req {
        let id: Int
        init(_ id: Int) { self.id = id }
    }

    func params(_ tls: PostgresTLSMode = .disable, password: String? = "pw", requireCB: Bool = false) -> StartupParameters {
        StartupParameters(user: "u", database: "d", password: password, options: [:], tlsMode: tls, requireChannelBinding: requireCB)
    }

    @Test func startupWithMD5AndReady() {
        var sm = ConnectionStateMachine<Req>(parameters: params())
        guard case .write(let m) = sm.connected(), case .startup(let p) = m[0] else { Issue.record("no startup"); return }
        #expect(p["user"] == "u" && p["database"] == "d")
        guard case .write(let pw) = sm.received(.authentication(.md5Password(salt: [1, 2, 3, 4]))) else { Issue.record("no password"); return }
        #expect(pw == [.password(PostgresMD5.hash(user: "u", password: "pw", salt: [1, 2, 3, 4]))])
        guard case .none = sm.received(.authentication(.ok)) else { Issue.record(); return }
        _ = sm.received(.parameterStatus(name: "server_version", value: "15"))
        _ = sm.received(.backendKeyData(processID: 5, secretKey: 6))
        guard case .connected(let key, let ps) = sm.received(.readyForQuery(.idle)) else { Issue.record("not connected"); return }
        #expect(key?.processID == 5 && ps["server_version"] == "15")
        #expect(sm.isReady)
    }

    @Test func sslNegotiation() {
        var required = ConnectionStateMachine<Req>(parameters: params(.require))
        guard case .write([.sslRequest]) = required.connected() else { Issue.record(); return }
        guard case .startupFailed(.sslRefused) = required.sslResponse(UInt8(ascii: "N")) else { Issue.record("require accepted N"); return }

        var preferred = ConnectionStateMachine<Req>(parameters: params(.prefer))
        _ = preferred.connected()
        guard case .write(let fallback) = preferred.sslResponse(UInt8(ascii: "N")), case .startup = fallback.first else {
            Issue.record("prefer did not fall back"); return
        }

        var tls = ConnectionStateMachine<Req>(parameters: params(.verifyFull))
        _ = tls.connected()
        guard case .startTLS = tls.sslResponse(UInt8(ascii: "S")) else { Issue.record(); return }
        guard case .write(let startup) = tls.tlsEstablished(channelBinding: [1, 2, 3]), case .startup = startup.first else { Issue.record(); return }
        // Offered PLUS over TLS: the client picks it.
        guard case .write(let first) = tls.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]))),
              case .saslInitialResponse(let mech, let data) = first[0] else { Issue.record(); return }
        #expect(mech == "SCRAM-SHA-256-PLUS")
        #expect(String(decoding: data, as: UTF8.self).hasPrefix("p=tls-server-end-point,,n=,r="))

        var garbage = ConnectionStateMachine<Req>(parameters: params(.require))
        _ = garbage.connected()
        guard case .closeAndFail(.invalidSSLResponse(0x45)) = garbage.sslResponse(0x45) else { Issue.record(); return }
    }

    @Test func channelBindingRequiredRejectsPlainSCRAM() {
        var sm = ConnectionStateMachine<Req>(parameters: params(requireCB: true))
        _ = sm.connected()
        guard case .startupFailed(.channelBindingRequired) = sm.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))) else {
            Issue.record(); return
        }
        var trust = ConnectionStateMachine<Req>(parameters: params(requireCB: true))
        _ = trust.connected()
        guard case .startupFailed(.channelBindingRequired) = trust.received(.authentication(.ok)) else { Issue.record(); return }
    }

    @Test func pipelinedRequestsAreRoutedInOrderWithErrorIsolation() {
        var sm = ConnectionStateMachine<Req>(parameters: params(password: nil))
        _ = sm.connected()
        _ = sm.received(.authentication(.ok))
        _ = sm.received(.readyForQuery(.idle))
        let a = Req(1), b = Req(2), c = Req(3)
        sm.enqueue(a); sm.enqueue(b); sm.enqueue(c)
        var log: [String] = []
        func feed(_ m: BackendMessage) {
            switch sm.received(m) {
            case .deliver(let r, let e): log.append("\(r.id):\(e)".prefix(12).description)
            case .complete(let r, _): log.append("\(r.id):done")
            case .closeAndFail(let e): log.append("fail:\(e)")
            default: break
            }
        }
        feed(.parseComplete); feed(.bindComplete); feed(.commandComplete("SELECT 0")); feed(.readyForQuery(.idle))
        feed(.errorResponse(PostgresMessageFields([UInt8(ascii: "C"): "22012"]))); feed(.readyForQuery(.idle))
        feed(.bindComplete); feed(.readyForQuery(.idle))
        #expect(log.filter { $0.hasSuffix("done") } == ["1:done", "2:done", "3:done"])
        #expect(log.contains { $0.hasPrefix("2:error") })
        // A response with nothing in flight is a protocol violation.
        feed(.bindComplete)
        #expect(log.last?.hasPrefix("fail:") == true)
    }

    @Test func statementCacheIsLRU() {
        var cache = StatementCache(capacity: 2)
        let a = cache.insert(.init(sql: "a", types: [])), b = cache.insert(.init(sql: "b", types: []))
        _ = cache.lookup(.init(sql: "a", types: []))
        _ = cache.insert(.init(sql: "c", types: []))
        #expect(cache.lookup(.init(sql: "a", types: []))?.name == a)
        #expect(cache.lookup(.init(sql: "b", types: [])) == nil)
        #expect(cache.pendingCloses == [b])
    }

    @Test func statementCacheRepeatedLookupsKeepLRUOrderAndForgetRemovedEntries() {
        var cache = StatementCache(capacity: 2)
        let a = cache.insert(.init(sql: "a", types: [.int4]))
        let b = cache.insert(.init(sql: "b", types: []))
        // The same key found again and again (the comparing fast path) still counts as a use.
        for _ in 0..<3 { #expect(cache.lookup(.init(sql: "a", types: [.int4]))?.name == a) }
        // Same SQL, other parameter types: a different statement.
        #expect(cache.lookup(.init(sql: "a", types: [.int8])) == nil)
        let c = cache.insert(.init(sql: "c", types: []))
        #expect(cache.pendingCloses == [b])
        #expect(cache.lookup(.init(sql: "a", types: [.int4]))?.name == a)
        cache.setColumns(.init(sql: "a", types: [.int4]), PostgresColumns([]))
        #expect(cache.lookup(.init(sql: "a", types: [.int4]))?.columns?.count == 0)
        // A removed entry is not found through the remembered position.
        cache.remove(.init(sql: "a", types: [.int4]))
        #expect(cache.lookup(.init(sql: "a", types: [.int4])) == nil)
        #expect(cache.lookup(.init(sql: "c", types: []))?.name == c)
        cache.removeAll()
        #expect(cache.lookup(.init(sql: "c", types: [])) == nil)
        let a2 = cache.insert(.init(sql: "a", types: [.int4]))
        #expect(a2 != a)
        #expect(cache.lookup(.init(sql: "a", types: [.int4]))?.name == a2)
    }
}
