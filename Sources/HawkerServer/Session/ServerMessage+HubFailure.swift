import HawkerCommerce
import HawkerHub
import HawkerProtocol

extension ServerMessage.ErrorReply {
    /// The wire error for a failed publish or subscribe, for WebSocket replies and HTTP
    /// bodies alike.
    init(failure error: any Error, re: String?, stream: StreamID) {
        switch error as? HubError {
        case .streamNotFound:
            self.init(re: re, code: .streamNotFound, message: "stream '\(stream)' does not exist (yet)")
        case .tooManyStreams:
            self.init(re: re, code: .internalError, message: "this gateway holds its maximum number of streams", retryAfterMilliseconds: 5_000)
        case .streamQuotaReached:
            self.init(re: re, code: .quotaExceeded, message: "you have created as many streams as your quota allows; end one first")
        case .rejected(let refusal):
            self.init(re: re, code: refusal.code, message: refusal.message, retryAfterMilliseconds: refusal.retryAfterMilliseconds)
        case .storeBehind:
            self.init(
                re: re, code: .unavailable, message: "the gateway cannot store events right now; nothing was done; retry", retryAfterMilliseconds: 1_000)
        case .notStored:
            self.init(
                re: re, code: .unavailable, message: "the event reached the viewers but could not be stored; it will not survive a restart")
        case .runsElsewhere:
            self.init(
                re: re, code: .unavailable, message: "the stream is moving between gateway nodes; nothing was done; retry", retryAfterMilliseconds: 500)
        case nil:
            self.init(re: re, code: .internalError, message: "the gateway failed; retry")
        }
    }
}
