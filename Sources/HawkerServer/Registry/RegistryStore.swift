import Foundation
import HawkerOrders
import Logging
import ServiceLifecycle

/// Where a registry's documents are kept: beside the outbox, in its SQLite file or a
/// cluster's shared PostgreSQL schema, so that they are backed up with the orders that
/// name them and, shared, reach every node.
enum RegistryStore {
    /// The store, and the shared store's pool to run (nil for the SQLite file).
    static func open<Document: RevisionedDocument>(
        _ table: DocumentTable, of: Document.Type, configuration: GatewayConfiguration, outboxPath: String, logger: Logger
    ) throws -> (store: any DocumentStore<Document>, service: (any Service)?) {
        if let url = configuration.orders.sharedOutboxURL {
            let shared = try PostgresDocumentStore<Document>(url: url, schema: configuration.orders.sharedOutboxSchema, table: table, logger: logger)
            return (shared, shared)
        }
        try FileManager.default.createDirectory(atPath: (outboxPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return (try SQLiteDocumentStore<Document>(path: outboxPath, table: table), nil)
    }
}
