/// A connection a ``ConnectionPool`` can manage.
public protocol PooledConnection: AnyObject, Sendable {
    /// False once the connection is known to be unusable (closed by peer, protocol error).
    ///
    /// The pool checks it when it hands a connection out and when one is released; an unusable
    /// connection is closed and replaced.
    var isUsable: Bool { get }

    /// Closes the connection. Called once by the pool; must not throw.
    func close() async
}
