/// The `role` claim.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case viewer
    case host
    case moderator
    case orderService = "order_service"
    case admin
}
