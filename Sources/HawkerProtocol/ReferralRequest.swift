/// What a `referral` command brings (PROTOCOL.md §6.17): a code from an influencer's link
/// (a new arrival: a ticket is issued), or the ticket a returning viewer kept.
public enum ReferralRequest: Sendable, Hashable {
    case code(String)
    case ticket(String)
}
