import NIOCore
import NIOPosix
import Testing
import WireCore

@Suite struct EventLoopTaskExecutorTests {
    struct Expected: Error, Equatable { let code: Int }

    @Test(.timeLimit(.minutes(1))) func runsTheTaskAndItsChildrenOnTheEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(loop)
        #expect(executor.eventLoop === loop)
        #expect(!loop.inEventLoop)
        let observed = await withEventLoopAffinity(executor) { () async -> [Bool] in
            var seen = [loop.inEventLoop]
            // After a suspension that completes on another thread, the task resumes on the loop.
            let value = try? await loop.scheduleTask(in: .milliseconds(5)) { 42 }.futureResult.get()
            seen.append(value == 42 && loop.inEventLoop)
            await Task.yield()
            seen.append(loop.inEventLoop)
            // Child tasks inherit the preference.
            let children = await withTaskGroup(of: Bool.self) { tasks in
                for _ in 0..<4 { tasks.addTask { loop.inEventLoop } }
                return await tasks.reduce(into: [Bool]()) { $0.append($1) }
            }
            return seen + children
        }
        #expect(observed == Array(repeating: true, count: 7))
        try await group.shutdownGracefully()
    }

    @Test(.timeLimit(.minutes(1))) func passesResultsAndTypedErrorsThrough() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopTaskExecutor(group.next())
        let value = await withEventLoopAffinity(executor) { 7 }
        #expect(value == 7)
        do {
            try await withEventLoopAffinity(executor) { () async throws(Expected) -> Void in throw Expected(code: 3) }
            Issue.record("expected an error")
        } catch {
            #expect(error == Expected(code: 3))  // typed: no cast needed
        }
        try await group.shutdownGracefully()
    }
}
