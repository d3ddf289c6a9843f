/// The `type` of every message the server sends, in one table. Protocol/PROTOCOL.md and
/// schemas/server-message.json name the same set (DocumentationTests); the encoders
/// written by hand for the hot messages (welcome ... event) spell theirs in a literal
/// prefix, checked against this table by ServerMessageEncodingTests.
public enum MessageType: String, Sendable, CaseIterable {
    // Replies to commands (they carry `re`).
    case welcome
    case subscribed
    case unsubscribed
    case published
    case pong
    case error
    case chatAccepted = "chat.accepted"
    case questionAccepted = "question.accepted"
    case questionUpvoted = "question.upvoted"
    case intentRecorded = "intent.recorded"
    case moderated
    case checkoutAccepted = "checkout.accepted"
    case referral
    case quote
    case orderHistory = "order.history"
    case orderRequest = "order.request"
    case ordersSubscribed = "orders.subscribed"
    case acked
    case orderUpdated = "order.updated"
    /// To `inventory.set` and `inventory.get`: the merchant's levels.
    case inventory

    // Sequenced stream events.
    case event

    // Pushes (seq 0: not sequenced, not replayed).
    case chat
    case questionsTop = "questions.top"
    case intentsSummary = "intents.summary"
    case socialProof = "social_proof"
    case presence
    case gap
    /// To an order service: a delivery to confirm or reject.
    case orderRequested = "order.requested"
    /// To a buyer: what became of an order.
    case orderConfirmed = "order.confirmed"
    case orderFailed = "order.failed"
    case orderStatus = "order.status"
    /// To a buyer: what became of their cancel or return request.
    case orderRequestStatus = "order.request.status"
}
