import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The gateway's listener.
///
/// NIO's `ServerBootstrap` keeps the descriptors of the sockets it accepts to itself. This
/// accepts on a thread of its own and gives each socket to an event loop with
/// `ClientBootstrap.withConnectedSocket`, so that the gateway knows every connection's
/// descriptor: broadcasts are sent to it directly (`OutboundBudgetHandler+DirectWrites`).
/// What a round accepts is handed over in one task per loop, not one per connection.
/// Loops take connections in turn, as with `ServerBootstrap`.
final class SocketAcceptor: Sendable {
    /// Sets up an accepted connection's channel; the descriptor is the channel's socket.
    typealias Initializer = @Sendable (any Channel, CInt) -> EventLoopFuture<Void>

    struct Options: Sendable {
        var backlog: Int32 = 4_096
        var sendBufferBytes = 0
        var writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark
        var maxMessagesPerRead: UInt = 4
        var readBufferBytes: Int
    }

    let localAddress: SocketAddress
    private let listener: CInt
    /// A pipe: written once to stop the accept thread.
    private let stopSignal: CInt
    private let stopWriter: CInt
    private let options: Options
    private let thread: NIOThreadPool
    private let logger: Logger
    private let state = Mutex(State.bound)

    private enum State {
        case bound
        case accepting
        case closed
    }

    /// Binds and listens; call `start` to accept.
    init(host: String, port: Int, options: Options, logger: Logger) throws {
        let requested = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family = requested.protocol.rawValue
        let listener = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        do {
            var one: Int32 = 1
            guard setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw IOError(errnoCode: errno, reason: "setsockopt(SO_REUSEADDR)")
            }
            let result = requested.withSockAddr { address, size in bind(listener, address, socklen_t(size)) }
            guard result == 0 else { throw IOError(errnoCode: errno, reason: "bind to \(host):\(port)") }
            guard listen(listener, options.backlog) == 0 else { throw IOError(errnoCode: errno, reason: "listen") }
            var storage = sockaddr_storage()
            var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &size) }
            }
            guard named == 0 else { throw IOError(errnoCode: errno, reason: "getsockname") }
            // The address as bound (the kernel's port, for port 0).
            let bound = withUnsafePointer(to: &storage) { pointer -> SocketAddress in
                if family == AF_INET6 {
                    return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
                }
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
            }
            self.localAddress = bound
            var ends: [CInt] = [-1, -1]
            guard pipe(&ends) == 0 else { throw IOError(errnoCode: errno, reason: "pipe") }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            self.stopSignal = ends[0]
            self.stopWriter = ends[1]
        } catch {
            closeDescriptor(listener)
            throw error
        }
        self.listener = listener
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.logger = logger
        self.options = options
    }

    /// Accepts until `close`, handing each connection to the next of `group`'s loops.
    func start(group: any EventLoopGroup, initializer: @escaping Initializer) {
        let loops = Array(group.makeIterator())
        // Started under the lock, so that a `close` meanwhile either comes before (and it
        // does not start) or after (and stops it).
        state.withLock { state in
            guard state == .bound else { return }
            state = .accepting
            thread.start()
            thread.submit { [self] work in
                guard case .active = work else { return }
                acceptUntilClosed(loops: loops, initializer: initializer)
            }
        }
    }

    /// Stops accepting and closes the listening socket; connections stay.
    func close() async {
        let was = state.withLock { state in
            defer { state = .closed }
            return state
        }
        switch was {
        case .bound:
            closeDescriptors()
        case .accepting:
            var one: UInt8 = 1
            _ = write(stopWriter, &one, 1)
            // The accept thread has ended once its pool is down: no descriptor is closed
            // under it.
            try? await thread.shutdownGracefully()
            closeDescriptors()
        case .closed:
            break
        }
    }

    private func closeDescriptors() {
        closeDescriptor(listener)
        closeDescriptor(stopSignal)
        closeDescriptor(stopWriter)
    }

    /// One per batch, on the loop that takes the batch: its initializer is set right
    /// before each connection is handed to it (the bootstrap reads it when called), so
    /// that the initializer knows the socket.
    private static func bootstrap(on loop: any EventLoop, options: Options) -> ClientBootstrap {
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: options.writeBufferWaterMark)
            .channelOption(.maxMessagesPerRead, value: options.maxMessagesPerRead)
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: options.readBufferBytes, maximum: 65_536)
            )
        guard options.sendBufferBytes > 0 else { return bootstrap }
        return bootstrap.channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(options.sendBufferBytes))
    }

    private func acceptUntilClosed(loops: [any EventLoop], initializer: @escaping Initializer) {
        var next = 0
        var batches = [[CInt]](repeating: [], count: loops.count)
        var waitFor = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: stopSignal, events: Int16(POLLIN), revents: 0)]
        var failures = AcceptFailures()
        while true {
            var backOff = false
            let ready = poll(&waitFor, nfds_t(waitFor.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                // Out of memory for the poll set: never a reason to stop accepting for good.
                log(failures.failed(errno: errno, now: NIODeadline.now().uptimeNanoseconds), "poll")
                var stop = [waitFor[1]]
                _ = poll(&stop, 1, 100)
                if stop[0].revents != 0 { return }
                continue
            }
            if waitFor[1].revents != 0 { return }
            accepting: for _ in 0..<1_024 {
                // accept4 is not in Swift's Glibc module: NIO makes the socket non-blocking
                // (withConnectedSocket), close-on-exec is set here (a program embedding the
                // gateway may start processes).
                let accepted = accept(listener, nil, nil)
                if accepted >= 0 {
                    if failures.isFailing { log(failures.accepted(now: NIODeadline.now().uptimeNanoseconds), "accept") }
                    _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
                    batches[next].append(accepted)
                    next = (next + 1) % loops.count
                    continue
                }
                switch errno {
                case EAGAIN, EWOULDBLOCK:
                    break accepting
                case EINTR, ECONNABORTED, EPROTO, EPERM:
                    // That connection is gone, or a firewall refused it: take the next.
                    continue
                default:
                    // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), or worse.
                    log(failures.failed(errno: errno, now: NIODeadline.now().uptimeNanoseconds), "accept")
                    backOff = true
                    break accepting
                }
            }
            for index in loops.indices where !batches[index].isEmpty {
                let batch = batches[index]
                batches[index] = []
                let options = self.options
                loops[index].execute { [loop = loops[index]] in
                    let bootstrap = Self.bootstrap(on: loop, options: options)
                    for socket in batch {
                        bootstrap
                            .channelInitializer { channel in initializer(channel, socket) }
                            .withConnectedSocket(socket)
                            .whenFailure { _ in }  // a refused connection: NIO closed it
                    }
                }
            }
            // Rounds at most every millisecond: in a storm each round then takes several
            // connections, for one wake-up of this thread and of each loop, instead of one
            // each (this thread shares the loops' cores). Out of descriptors, the
            // connections wait in the backlog for 100 ms, as with NIO's accept backoff. A
            // stop ends either wait.
            var stop = [waitFor[1]]
            _ = poll(&stop, 1, backOff ? 100 : 1)
            if stop[0].revents != 0 { return }
        }
    }
}

extension SocketAcceptor {
    /// A failure line: out of descriptors or memory is a warning (the connections wait in
    /// the backlog), anything else an error.
    private func log(_ line: AcceptFailures.Line?, _ call: String) {
        switch line {
        case .started(let code):
            let level: Logger.Level = [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(code) ? .warning : .error
            logger.log(level: level, "\(call) failed: accepting again every 100 ms until it works", metadata: ["errno": "\(code)"])
        case .ongoing(let code, let count):
            logger.warning("\(call) still failing", metadata: ["errno": "\(code)", "failures since the last line": "\(count)"])
        case .recovered(let count, let nanoseconds):
            logger.notice(
                "accepting again", metadata: ["failures": "\(count)", "failing for": "\(Duration.nanoseconds(Int64(clamping: nanoseconds)))"])
        case nil:
            break
        }
    }
}

/// `close(2)`, which `SocketAcceptor.close()` hides inside the class.
private func closeDescriptor(_ descriptor: CInt) {
    _ = close(descriptor)
}
