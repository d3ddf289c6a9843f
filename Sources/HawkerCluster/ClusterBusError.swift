/// Why a request to another node got no answer.
public struct ClusterBusError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        fileprivate enum Base: Sendable, Hashable { case noSuchNode, timedOut, failed, overloaded }
        fileprivate let base: Base

        /// No node listens on that inbox: it is gone (nothing was sent).
        public static let noSuchNode = Code(base: .noSuchNode)
        /// No answer in time: the request may or may not have run.
        public static let timedOut = Code(base: .timedOut)
        /// The other node's handler threw.
        public static let failed = Code(base: .failed)
        /// Too many requests wait already (nothing was sent).
        public static let overloaded = Code(base: .overloaded)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
