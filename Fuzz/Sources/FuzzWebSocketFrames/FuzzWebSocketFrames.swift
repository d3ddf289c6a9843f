import HarnessSupport
import HawkerWebSocket
import NIOCore
import NIOEmbedded
import NIOWebSocket

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// Raw client bytes through the gateway's WebSocket layer, as `WebSocketUpgrader` builds
/// it: `WebSocketConnectionHandler`, which reads the frames itself
/// (`WebSocketFrameParser`), in an EmbeddedChannel; every input runs twice, without and
/// with permessage-deflate negotiated. The same reads also go to the parser alone and to
/// NIOWebSocket's `WebSocketFrameDecoder`, which it replaced: the frames and the refusal
/// must be the same.
///
/// The first byte picks the settings:
///   bits 0-1  max message size: 125, 1_000, 65_536 (the default), 16 bytes
///   bits 2-3  how the bytes arrive: all at once, 1, 7 or 64 bytes per read
///   bit  4    client_no_context_takeover negotiated
///   bit  5    server_max_window_bits 9 (else 15)
///   bit  6    let time pass after the input (keepalive pings, idle close, close timeout)
///   bit  7    the application asks to close (WebSocketCloseRequest) half-way
/// The rest is the client's byte stream.
///
/// Must never trap. Also checked: every message delivered is complete and within the
/// size limit, text is valid UTF-8; everything written to the peer is whole, unmasked,
/// final frames; a close frame carries a code that may go on the wire and a UTF-8 reason,
/// and nothing but data the application wrote follows it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketFrames(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let settings = input.byte()
    let stream = input.rest()
    for compressed in [false, true] {
        run(settings: settings, compressed: compressed, stream: stream)
    }
    compareWithNIO(settings: settings, stream: stream)
    return 0
}

/// The parser and NIO's decoder on the same reads: the same frames, then the same
/// refusal (or none).
private func compareWithNIO(settings: UInt8, stream: [UInt8]) {
    let maxFrameSize = [125, 1_000, 65_536, 16][Int(settings & 0x03)]
    let chunk = [Int.max, 1, 7, 64][Int(settings >> 2 & 0x03)]
    let parser = WebSocketFrameParser(maxFrameSize: maxFrameSize)
    let decoder = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
    var pending = ByteBuffer()
    var offset = 0
    while offset < stream.count {
        let end = stream.count - offset <= chunk ? stream.count : offset + chunk
        pending.writeBytes(stream[offset..<end])
        var refusedByNIO: WebSocketFrameParser.Failure?
        do {
            try decoder.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
        } catch let error as NIOWebSocketError {
            refusedByNIO = error == .invalidFrameLength ? .tooLarge : .invalidControlFrame
        } catch {
            fatalError("NIO's decoder threw \(error)")
        }
        offset = end
        var refused: WebSocketFrameParser.Failure?
        do {
            while let frame = try parser.next(&pending) {
                let expected = (try? decoder.readInbound(as: WebSocketFrame.self)).flatMap { $0 }.map {
                    WebSocketClientFrame(
                        fin: $0.fin, rsv1: $0.rsv1, rsv2: $0.rsv2, rsv3: $0.rsv3, opcode: $0.opcode, masked: $0.maskKey != nil, data: $0.unmaskedData)
                }
                require(expected == frame, "the parser read \(frame), NIO's decoder \(String(describing: expected))")
            }
        } catch {
            refused = error
        }
        require((try? decoder.readInbound(as: WebSocketFrame.self)) == nil, "NIO's decoder read a frame the parser did not")
        require(refused == refusedByNIO, "the parser refused with \(String(describing: refused)), NIO's decoder \(String(describing: refusedByNIO))")
        if refused != nil { break }
    }
    _ = try? decoder.finish()
}

private func run(settings: UInt8, compressed: Bool, stream: [UInt8]) {
    let maxMessageBytes = [125, 1_000, 65_536, 16][Int(settings & 0x03)]
    let chunk = [Int.max, 1, 7, 64][Int(settings >> 2 & 0x03)]
    let compression =
        compressed
        ? PerMessageDeflateParameters(serverMaxWindowBits: settings & 0x20 != 0 ? 9 : 15, clientNoContextTakeover: settings & 0x10 != 0)
        : nil
    let configuration = WebSocketConnectionConfiguration(maxMessageBytes: maxMessageBytes, idleCloseCode: 4003, floodCloseCode: 4002)

    let channel = EmbeddedChannel()
    let loop = channel.embeddedEventLoop
    do {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(WebSocketConnectionHandler(configuration: configuration, compression: compression))
        // The gateway's channels are connected when the upgrade happens.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    } catch {
        fatalError("pipeline setup failed: \(error)")
    }

    var output = OutputChecker()
    var offset = 0
    var askedToClose = false
    while offset < stream.count, channel.isActive {
        let end = stream.count - offset <= chunk ? stream.count : offset + chunk
        _ = try? channel.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
        offset = end
        drain(channel, maxMessageBytes: maxMessageBytes, output: &output)
        if settings & 0x80 != 0, !askedToClose, offset >= stream.count / 2 {
            askedToClose = true
            channel.pipeline.triggerUserOutboundEvent(WebSocketCloseRequest(code: 4000, reason: "fuzz"), promise: nil)
            drain(channel, maxMessageBytes: maxMessageBytes, output: &output)
        }
    }
    // The application keeps writing: after a close these must be refused, not sent.
    if channel.isActive {
        var message = ByteBuffer()
        WebSocketFrameHeader.write(into: &message, opcode: .text, payloadLength: 2)
        message.writeString("ok")
        channel.writeAndFlush(message, promise: nil)
        output.applicationWrote = true
        drain(channel, maxMessageBytes: maxMessageBytes, output: &output)
    }
    if settings & 0x40 != 0 {
        for _ in 0..<4 {
            loop.advanceTime(by: .seconds(30))
            drain(channel, maxMessageBytes: maxMessageBytes, output: &output)
        }
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    drain(channel, maxMessageBytes: maxMessageBytes, output: &output)
}

private func drain(_ channel: EmbeddedChannel, maxMessageBytes: Int, output: inout OutputChecker) {
    channel.embeddedEventLoop.run()
    while let message = try? channel.readInbound(as: WebSocketMessage.self) {
        require(message.data.readableBytes <= maxMessageBytes, "a \(message.data.readableBytes)-byte message passed the \(maxMessageBytes)-byte limit")
        if message.kind == .text {
            let valid = message.data.withUnsafeReadableBytes { String(validating: $0, as: UTF8.self) != nil }
            require(valid, "a text message that is not UTF-8 was delivered")
        }
    }
    while let frame = try? channel.readOutbound(as: ByteBuffer.self) {
        output.check(frame)
    }
}

/// What the server writes: whole, unmasked, final frames; one close frame at most.
private struct OutputChecker {
    var closeSent = false
    var applicationWrote = false

    mutating func check(_ frame: ByteBuffer) {
        var frame = frame
        guard let first = frame.readInteger(as: UInt8.self), let second = frame.readInteger(as: UInt8.self) else {
            fatalError("a frame shorter than its header")
        }
        require(first & 0x80 != 0, "a non-final frame written")
        require(second & 0x80 == 0, "a masked frame written by the server")
        var length = Int(second & 0x7F)
        if length == 126 {
            length = Int(frame.readInteger(as: UInt16.self) ?? 0)
        } else if length == 127 {
            length = Int(frame.readInteger(as: UInt64.self) ?? 0)
        }
        require(frame.readableBytes == length, "a frame whose length field says \(length) holds \(frame.readableBytes) bytes")
        let opcode = first & 0x0F
        // Only what the application itself wrote may follow our close frame... and it is
        // refused by the handler's write(), so nothing should.
        require(!closeSent, "a frame (opcode \(opcode)) written after the close frame")
        switch opcode {
        case 0x8:
            closeSent = true
            require(length >= 2 && length <= 125, "a close frame of \(length) bytes")
            let code = frame.readInteger(as: UInt16.self)!
            require(WebSocketClosePayload.isValidReceived(code), "close code \(code) may not be sent")
            let reason = frame.readBytes(length: frame.readableBytes) ?? []
            require(String(validating: reason, as: UTF8.self) != nil, "a close reason that is not UTF-8")
        case 0x9, 0xA:
            require(length <= 125, "a control frame of \(length) bytes")
        case 0x1:
            require(applicationWrote, "a text frame nobody wrote")
        default:
            fatalError("unexpected opcode \(opcode) written")
        }
    }
}
