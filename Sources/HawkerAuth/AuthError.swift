import HawkerProtocol

/// Why a token was refused; `code` is the wire error code.
public struct AuthError: Error, Sendable, Hashable {
    public let code: ErrorCode
    public let message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    static func unauthorized(_ message: String) -> AuthError {
        AuthError(code: .unauthorized, message: message)
    }

    static func expired(_ message: String) -> AuthError {
        AuthError(code: .tokenExpired, message: message)
    }
}
