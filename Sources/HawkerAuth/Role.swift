/// The `role` claim.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case viewer
    case host
    case moderator
    case orderService = "order_service"
    /// An influencer: watches and buys like a viewer, and reads what its codes earned.
    case affiliate
    case admin
}
