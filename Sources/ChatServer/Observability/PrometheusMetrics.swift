import CoreMetrics
import Synchronization

/// A small swift-metrics backend that renders the Prometheus text exposition format
/// (counters, gauges, and histograms for recorders and timers).
public final class PrometheusMetrics: MetricsFactory, Sendable {
    private final class Metric: Sendable {
        let name: String
        let labels: String
        let kind: Kind
        let value = Mutex<Value>(Value())

        enum Kind { case counter, gauge, histogram }

        struct Value {
            var total: Double = 0
            var buckets: [Int] = []
            var count: Int = 0
        }

        init(name: String, labels: String, kind: Kind, bucketCount: Int) {
            self.name = name
            self.labels = labels
            self.kind = kind
            value.withLock { $0.buckets = Array(repeating: 0, count: bucketCount) }
        }
    }

    /// Histogram bucket upper bounds, in seconds for timers and in the recorded unit otherwise.
    public let buckets: [Double]
    private let metrics = Mutex<[String: Metric]>([:])

    /// A registry with the given histogram buckets.
    public init(buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) {
        self.buckets = buckets
    }

    private static func sanitize(_ label: String) -> String {
        String(label.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }

    private static func render(_ dimensions: [(String, String)]) -> String {
        guard !dimensions.isEmpty else { return "" }
        let body = dimensions.map { key, value -> String in
            let escaped = value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
            return "\(sanitize(key))=\"\(escaped)\""
        }.joined(separator: ",")
        return "{\(body)}"
    }

    private func metric(_ label: String, _ dimensions: [(String, String)], _ kind: Metric.Kind) -> Metric {
        let name = Self.sanitize(label)
        let labels = Self.render(dimensions)
        return metrics.withLock { metrics in
            if let existing = metrics[name + labels] { return existing }
            let metric = Metric(name: name, labels: labels, kind: kind, bucketCount: buckets.count)
            metrics[name + labels] = metric
            return metric
        }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(metric: metric(label, dimensions, .counter), buckets: buckets, scale: 1)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Handler(metric: metric(label, dimensions, .counter), buckets: buckets, scale: 1)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(metric: metric(label, dimensions, aggregate ? .histogram : .gauge), buckets: buckets, scale: 1)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        Handler(metric: metric(label, dimensions, .gauge), buckets: buckets, scale: 1)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(metric: metric(label, dimensions, .histogram), buckets: buckets, scale: 1e-9)
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    private final class Handler: CounterHandler, FloatingPointCounterHandler, RecorderHandler, MeterHandler, TimerHandler, Sendable {
        let metric: Metric
        let buckets: [Double]
        let scale: Double

        init(metric: Metric, buckets: [Double], scale: Double) {
            self.metric = metric
            self.buckets = buckets
            self.scale = scale
        }

        func increment(by amount: Int64) { metric.value.withLock { $0.total += Double(amount) } }
        func increment(by amount: Double) { metric.value.withLock { $0.total += amount } }
        func reset() { metric.value.withLock { $0 = Metric.Value(total: 0, buckets: Array(repeating: 0, count: buckets.count), count: 0) } }
        func record(_ value: Int64) { observe(Double(value)) }
        func record(_ value: Double) { observe(value) }
        func set(_ value: Int64) { metric.value.withLock { $0.total = Double(value) } }
        func set(_ value: Double) { metric.value.withLock { $0.total = value } }
        func decrement(by amount: Double) { metric.value.withLock { $0.total -= amount } }
        func recordNanoseconds(_ duration: Int64) { observe(Double(duration)) }

        private func observe(_ raw: Double) {
            let value = raw * scale
            if metric.kind != .histogram {
                metric.value.withLock { $0.total = value }
                return
            }
            let index = buckets.firstIndex { value <= $0 }
            metric.value.withLock { v in
                v.total += value
                v.count += 1
                if let index { v.buckets[index] += 1 }
            }
        }
    }

    /// The exposition text of every metric.
    public func render() -> String {
        let all = metrics.withLock { $0.values.sorted { ($0.name, $0.labels) < ($1.name, $1.labels) } }
        var out = ""
        var typed = Set<String>()
        for metric in all {
            let value = metric.value.withLock { $0 }
            if typed.insert(metric.name).inserted {
                let type = metric.kind == .counter ? "counter" : metric.kind == .gauge ? "gauge" : "histogram"
                out += "# TYPE \(metric.name) \(type)\n"
            }
            switch metric.kind {
            case .counter, .gauge:
                out += "\(metric.name)\(metric.labels) \(Self.format(value.total))\n"
            case .histogram:
                var cumulative = 0
                let inner = metric.labels.isEmpty ? "" : String(metric.labels.dropFirst().dropLast()) + ","
                for (i, bound) in buckets.enumerated() {
                    cumulative += value.buckets[i]
                    out += "\(metric.name)_bucket{\(inner)le=\"\(Self.format(bound))\"} \(cumulative)\n"
                }
                out += "\(metric.name)_bucket{\(inner)le=\"+Inf\"} \(value.count)\n"
                out += "\(metric.name)_sum\(metric.labels) \(Self.format(value.total))\n"
                out += "\(metric.name)_count\(metric.labels) \(value.count)\n"
            }
        }
        return out
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
