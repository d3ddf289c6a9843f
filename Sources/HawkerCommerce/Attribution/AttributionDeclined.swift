/// Why the code the buyer brought (entered, or a referral) was not credited. The checkout
/// goes on without it: a sale is never refused over attribution.
public struct AttributionDeclined: Sendable, Hashable {
    public enum Reason: String, Error, Sendable, Hashable, CaseIterable {
        /// No such code is registered.
        case unknownCode = "unknown_code"
        /// Registered, but revoked, not valid yet, or past its validity window.
        case codeNotActive = "code_not_active"
        /// Registered for other streams.
        case notForStream = "not_for_stream"
        /// Registered for other merchants than every product in the cart.
        case notForProducts = "not_for_products"
        /// The referral is older than the referral window.
        case referralExpired = "referral_expired"
        /// The referral was not issued by this gateway (or was altered).
        case invalidReferral = "invalid_referral"
    }

    /// The code as the buyer sent it (nil for a referral that could not be read).
    public var code: String?
    public var reason: Reason

    public init(code: String?, reason: Reason) {
        self.code = code
        self.reason = reason
    }
}
