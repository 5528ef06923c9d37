import NIOCore
import Testing
import WireCore
@testable import RedisWire

@Suite("Connection state machine (sans I/O)")
struct StateMachineTests {
    typealias SM = RedisConnectionStateMachine<Int>

    @Test func repliesMatchRequestsInOrder() {
        var sm = SM()
        guard case .write = sm.enqueue(1), case .write = sm.enqueue(2) else { Issue.record("enqueue"); return }
        guard case .reply(1, .simpleString("OK"), last: true) = sm.received(.simpleString("OK")) else { Issue.record("first"); return }
        guard case .reply(2, .simpleError("ERR x"), last: true) = sm.received(.simpleError("ERR x")) else { Issue.record("second"); return }
        #expect(sm.inFlightCount == 0)
    }

    @Test func pushesDoNotConsumeRequests() {
        var sm = SM()
        sm.protocolVersion = 3
        _ = sm.enqueue(7)
        guard case .push = sm.received(.push([.bulk("invalidate"), .array([.bulk("k")])])) else { Issue.record("push"); return }
        guard case .reply(7, .integer(1), last: true) = sm.received(.integer(1)) else { Issue.record("reply"); return }
    }

    @Test func subscriptionConfirmationsCompleteAfterLastChannel() {
        var sm = SM()
        sm.protocolVersion = 3
        _ = sm.enqueue(1, shape: .subscription(kind: "subscribe", confirmations: 2))
        _ = sm.enqueue(2)
        guard case .pushAndReply(_, nil) = sm.received(.push([.bulk("subscribe"), .bulk("a"), .integer(1)])) else { Issue.record("1st"); return }
        guard case .pushAndReply(_, 1?) = sm.received(.push([.bulk("subscribe"), .bulk("b"), .integer(2)])) else { Issue.record("2nd"); return }
        #expect(sm.subscriptionCount == 2)
        guard case .push = sm.received(.push([.bulk("message"), .bulk("a"), .bulk("hi")])) else { Issue.record("msg"); return }
        guard case .reply(2, .simpleString("PONG"), last: true) = sm.received(.simpleString("PONG")) else { Issue.record("pong"); return }
    }

    @Test func resp2SubscribedModeArraysArePushes() {
        var sm = SM()
        _ = sm.enqueue(1, shape: .subscription(kind: "subscribe", confirmations: 1))
        guard case .pushAndReply(_, 1?) = sm.received(.array([.bulk("subscribe"), .bulk("a"), .integer(1)])) else { Issue.record("conf"); return }
        guard case .push(.push) = sm.received(.array([.bulk("message"), .bulk("a"), .bulk("x")])) else { Issue.record("msg"); return }
    }

    @Test func unsolicitedReplyIsAProtocolViolationThatFailsEverything() {
        var sm = SM()
        guard case .protocolViolation(let failed, _) = sm.received(.integer(3)) else { Issue.record("violation"); return }
        #expect(failed.isEmpty)
        guard case .fail(5, .notSent) = sm.enqueue(5) else { Issue.record("closed"); return }
    }

    @Test func pipelineIsOneEntryAnsweredOncePerCommand() {
        var sm = SM()
        _ = sm.enqueue(1, replies: 3)
        _ = sm.enqueue(2)
        #expect(sm.inFlightCount == 2)
        guard case .reply(1, .simpleString("OK"), last: false) = sm.received(.simpleString("OK")) else { Issue.record("1st"); return }
        guard case .reply(1, .simpleError("ERR x"), last: false) = sm.received(.simpleError("ERR x")) else { Issue.record("2nd"); return }
        guard case .reply(1, .integer(3), last: true) = sm.received(.integer(3)) else { Issue.record("3rd"); return }
        guard case .reply(2, .null, last: true) = sm.received(.null) else { Issue.record("next request"); return }
        #expect(sm.inFlightCount == 0)
    }

    @Test func connectionLossMidPipelineFailsThePipelineOnce() {
        var sm = SM()
        _ = sm.enqueue(1, replies: 16)
        _ = sm.enqueue(2, replies: 4)
        for _ in 0..<5 { _ = sm.received(.simpleString("OK")) }
        #expect(sm.closed(reason: "gone") == [1, 2])
        guard case .fail(3, .notSent) = sm.enqueue(3, replies: 2) else { Issue.record("closed"); return }
    }

    @Test func closeAndDecodeErrorsFailInFlightRequests() {
        var sm = SM()
        _ = sm.enqueue(1)
        _ = sm.enqueue(2)
        #expect(sm.closed(reason: "gone") == [1, 2])
        var sm2 = SM()
        _ = sm2.enqueue(3)
        let (failed, error) = sm2.decodeFailed("bad type byte")
        #expect(failed == [3])
        guard case .protocolViolation = error else { Issue.record("error kind"); return }
    }
}

@Suite("URLs")
struct URLTests {
    @Test func redisURL() throws {
        let c = try RedisConnectionConfiguration(url: "redis://swift:p%40ss@127.0.0.1:16379/3?name=app&protocol=2")
        #expect(c.transport.endpoint == .tcp(host: "127.0.0.1", port: 16379))
        #expect(c.username == "swift")
        #expect(c.password == "p@ss")
        #expect(c.database == 3)
        #expect(c.clientName == "app")
        #expect(c.protocolVersion == .resp2)
        #expect(c.transport.tls == nil)
    }

    @Test func defaultsAndLegacyPassword() throws {
        let c = try RedisConnectionConfiguration(url: "redis://secret@localhost")
        #expect(c.transport.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(c.username == nil)
        #expect(c.password == "secret")
        #expect(c.protocolVersion == .resp3)
        let v6 = try RedisConnectionConfiguration(url: "redis://[::1]:7000")
        #expect(v6.transport.endpoint == .tcp(host: "::1", port: 7000))
    }

    @Test func tlsAndUnixURLs() throws {
        let t = try RedisConnectionConfiguration(url: "rediss://h:6380?ca=/tmp/ca.pem&verify=nohostname")
        #expect(t.transport.tls != nil)
        if case .file(let path) = t.transport.tls?.trustRoots { #expect(path == "/tmp/ca.pem") } else { Issue.record("ca") }
        let u = try RedisConnectionConfiguration(url: "unix:///tmp/redis.sock?db=2")
        #expect(u.transport.endpoint == .unixSocket(path: "/tmp/redis.sock"))
        #expect(u.database == 2)
    }

    @Test func invalidURLsThrow() {
        for bad in ["http://x", "redis://", "redis://h:99999", "redis://h/abc", "unix://relative", "redis://h?protocol=4", "nourl"] {
            #expect(throws: RedisClientError.self, "\(bad)") { try RedisConnectionConfiguration(url: bad) }
        }
    }

    @Test func scriptSHA1MatchesKnownAnswers() {
        #expect(ScriptSHA1.hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(ScriptSHA1.hex("return 1") == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(ScriptSHA1.hex(String(repeating: "a", count: 200)).count == 40)
    }

    @Test func blockingCommandsAreRecognised() {
        #expect(RedisCommand("BLPOP", "k", "0").isBlocking)
        #expect(RedisCommand("xread", "BLOCK", "0", "STREAMS", "s", "$").isBlocking)
        #expect(!RedisCommand("XREAD", "STREAMS", "s", "0").isBlocking)
        #expect(!RedisCommand("GET", "k").isBlocking)
    }
}

@Suite("Client-side cache bookkeeping")
struct ClientSideCacheUnitTests {
    static func key(_ s: String) -> ClientSideCache.Key { Array(s.utf8) }
    static let get = ClientSideCache.Signature(arguments: ["GET"])

    @Test func invalidationDuringFillDiscardsTheFill() {
        let cache = ClientSideCache(configuration: .init(maxEntries: 3))
        let k = Self.key("k")
        let ticket = cache.beginFill(k)
        cache.invalidate([k])
        cache.completeFill(ticket, Self.get, value: .bulk("stale"))
        #expect(cache.lookup(k, Self.get) == nil)
        let t2 = cache.beginFill(k)
        cache.completeFill(t2, Self.get, value: .bulk("fresh"))
        #expect(cache.lookup(k, Self.get) == .bulk("fresh"))
        // Error replies are never cached.
        let hget = ClientSideCache.Signature(arguments: ["HGET", "f"])
        cache.completeFill(cache.beginFill(k), hget, value: .simpleError("WRONGTYPE x"))
        #expect(cache.lookup(k, hget) == nil)
    }

    @Test func oneInvalidationDropsEveryReadOfTheKey() {
        let cache = ClientSideCache(configuration: .init(maxEntries: 10))
        let h = Self.key("h")
        let f = ClientSideCache.Signature(arguments: ["HGET", "f"])
        let all = ClientSideCache.Signature(arguments: ["HGETALL"])
        cache.completeFill(cache.beginFill(h), f, value: .bulk("1"))
        cache.completeFill(cache.beginFill(h), all, value: .map([RESPMapEntry(key: .bulk("f"), value: .bulk("1"))]))
        #expect(cache.statistics.entries == 2)
        #expect(cache.handlePush(.push([.bulk("invalidate"), .array([.bulk("h")])])))
        #expect(cache.lookup(h, f) == nil && cache.lookup(h, all) == nil)
        #expect(cache.statistics.entries == 0)
    }

    @Test func lruEvictsLeastRecentlyUsed() {
        let cache = ClientSideCache(configuration: .init(maxEntries: 2))
        for k in ["a", "b"] { cache.completeFill(cache.beginFill(Self.key(k)), Self.get, value: .bulk(k)) }
        _ = cache.lookup(Self.key("a"), Self.get)
        cache.completeFill(cache.beginFill(Self.key("c")), Self.get, value: .bulk("c"))
        #expect(cache.lookup(Self.key("b"), Self.get) == nil)
        #expect(cache.lookup(Self.key("a"), Self.get) == .bulk("a"))
        #expect(cache.lookup(Self.key("c"), Self.get) == .bulk("c"))
        cache.handlePush(.push([.bulk("invalidate"), .null]))
        #expect(cache.statistics.entries == 0)
    }

    @Test func commandsArePlannedByWhatTheyDo() {
        guard case .singleKey(let k, let sig) = CachePlan(RedisCommand("HGET", ["h", "f"], keyIndices: [0], isReadOnly: true)) else {
            Issue.record("HGET is a cached read"); return
        }
        #expect(k == Self.key("h") && sig == ClientSideCache.Signature(arguments: ["HGET", "f"]))
        guard case .mget(let keys) = CachePlan(RedisCommand("MGET", ["a", "b"])) else { Issue.record("MGET"); return }
        #expect(keys == [Self.key("a"), Self.key("b")])
        guard case .exists = CachePlan(RedisCommand("EXISTS", ["a"])) else { Issue.record("EXISTS"); return }
        guard case .write(let written) = CachePlan(RedisCommand("HSET", ["h", "f", "v"], keyIndices: [0])) else { Issue.record("HSET"); return }
        #expect(written == [Self.key("h")])
        guard case .flush = CachePlan(RedisCommand("FLUSHDB")) else { Issue.record("FLUSHDB"); return }
        for uncached in [RedisCommand("PTTL", ["k"], keyIndices: [0], isReadOnly: true), RedisCommand("SRANDMEMBER", ["s"]), RedisCommand("PING")] {
            if case .singleKey = CachePlan(uncached) { Issue.record("\(uncached.name) must not be cached") }
        }
    }
}

@Suite("Command timeouts (sans I/O)")
struct CommandTimeoutUnitTests {
    @Test func precedenceCommandThenScopeThenDefault() async {
        var get = RedisCommand("GET", "k")
        let blpop = RedisCommand("BLPOP", "k", "0")
        #expect(get.effectiveTimeout(connectionDefault: .seconds(1)) == .seconds(1))
        #expect(get.effectiveTimeout(connectionDefault: nil) == nil)
        // Blocking commands are exempt from the connection's default only.
        #expect(blpop.effectiveTimeout(connectionDefault: .seconds(1)) == nil)
        await RedisCommand.withTimeout(.milliseconds(5)) {
            #expect(get.effectiveTimeout(connectionDefault: .seconds(1)) == .milliseconds(5))
            #expect(blpop.effectiveTimeout(connectionDefault: .seconds(1)) == .milliseconds(5))
        }
        get.timeout = .milliseconds(7)
        await RedisCommand.withTimeout(.milliseconds(5)) {
            #expect(get.effectiveTimeout(connectionDefault: .seconds(1)) == .milliseconds(7))
        }
    }
}

@Suite("Subscription confirmations (sans I/O)")
struct SubscriptionConfirmationTests {
    @Test func aServerSideUnsubscribeIsNotTakenForOurs() {
        var sm = RedisConnectionStateMachine<Int>()
        sm.protocolVersion = 3
        _ = sm.enqueue(1, shape: .subscription(kind: "sunsubscribe", confirmations: 1, channels: ["mine"]))
        // The server drops another shard channel (its slot moved) while our SUNSUBSCRIBE is pending.
        guard case .pushAndReply(_, nil) = sm.received(.push([.bulk("sunsubscribe"), .bulk("moved"), .integer(1)])) else {
            Issue.record("must not complete our request"); return
        }
        #expect(SubscriptionRouter.serverUnsubscribedShardChannel(.push([.bulk("sunsubscribe"), .bulk("moved"), .integer(1)]))
                == SubscriptionRouter.Key(kind: .shardChannel, name: "moved"))
        guard case .pushAndReply(_, 1?) = sm.received(.push([.bulk("sunsubscribe"), .bulk("mine"), .integer(0)])) else {
            Issue.record("our confirmation completes it"); return
        }
    }
}
