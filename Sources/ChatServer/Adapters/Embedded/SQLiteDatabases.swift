import ChatWire
import GRDB

/// Opens the embedded SQLite databases under a data directory (WAL mode):
/// `users.sqlite` (profiles, connections, files, config), `chats.sqlite` (history, chat state,
/// consumer offsets) and `backplane.sqlite` (the partitioned log). Separate files let the three
/// writers commit in parallel.
public struct SQLiteDatabases: Sendable {
    public let users: DatabasePool
    public let chats: DatabasePool
    public let backplane: DatabasePool

    /// Opens (creating and migrating) the databases in `directory`.
    /// - Parameter synchronousFull: `PRAGMA synchronous=FULL` (survives power loss) instead of
    ///   NORMAL (survives a process crash; the default).
    public init(directory: String, synchronousFull: Bool = false) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let sync = synchronousFull ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(sync)")
            // Checkpoint every 4000 WAL pages (16 MB) instead of SQLite's 1000: the backplane
            // log's tail page and the hot history/state pages are rewritten by every commit, and
            // a checkpoint copies only their last version, so fewer checkpoints copy far less.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
            // 16 MB page cache per connection (SQLite's default is 2 MB): history and chat-state
            // writes touch pages all over their tables, which would otherwise be read back from
            // the file system on every transaction.
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        users = try DatabasePool(path: directory + "/users.sqlite", configuration: configuration)
        chats = try DatabasePool(path: directory + "/chats.sqlite", configuration: configuration)
        backplane = try DatabasePool(path: directory + "/backplane.sqlite", configuration: configuration)
        try Self.usersMigrator.migrate(users)
        try Self.chatsMigrator.migrate(chats)
        try Self.backplaneMigrator.migrate(backplane)
    }

    static var usersMigrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE profiles (
                  user_id INTEGER PRIMARY KEY AUTOINCREMENT,
                  version INTEGER NOT NULL,
                  username TEXT NOT NULL UNIQUE,
                  password TEXT NOT NULL,
                  display_name TEXT NOT NULL,
                  avatar_url TEXT NOT NULL,
                  phone TEXT NOT NULL,
                  email TEXT NOT NULL);
                CREATE TABLE connections (
                  user1_id INTEGER NOT NULL REFERENCES profiles(user_id),
                  user2_id INTEGER NOT NULL REFERENCES profiles(user_id),
                  version INTEGER NOT NULL,
                  status INTEGER NOT NULL,
                  target_id INTEGER NOT NULL,
                  PRIMARY KEY (user1_id, user2_id)) WITHOUT ROWID;
                CREATE INDEX connections_user2 ON connections(user2_id);
                CREATE TABLE files (
                  bucket TEXT NOT NULL,
                  path TEXT NOT NULL,
                  user_id INTEGER NOT NULL REFERENCES profiles(user_id),
                  content_type TEXT NOT NULL,
                  version INTEGER NOT NULL,
                  allowed_users TEXT NOT NULL,
                  PRIMARY KEY (bucket, path)) WITHOUT ROWID;
                CREATE INDEX files_user_version ON files(user_id, version);
                CREATE TABLE config (
                  name TEXT PRIMARY KEY NOT NULL,
                  value TEXT NOT NULL,
                  version INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        return m
    }

    static var chatsMigrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE chat_messages (
                  chat_id TEXT NOT NULL,
                  message_id INTEGER NOT NULL,
                  sender_id INTEGER NOT NULL,
                  receiver_id INTEGER NOT NULL,
                  type INTEGER NOT NULL,
                  text TEXT NOT NULL,
                  file_bucket TEXT,
                  file_path TEXT,
                  PRIMARY KEY (chat_id, message_id)) WITHOUT ROWID;
                CREATE TABLE chat_reactions (
                  chat_id TEXT NOT NULL,
                  message_id INTEGER NOT NULL,
                  reactor_id INTEGER NOT NULL,
                  reaction TEXT NOT NULL,
                  PRIMARY KEY (chat_id, message_id, reactor_id)) WITHOUT ROWID;
                CREATE TABLE user_chats (
                  user_id INTEGER NOT NULL,
                  chat_id TEXT NOT NULL,
                  other_user_id INTEGER NOT NULL,
                  newest_message INTEGER NOT NULL,
                  other_user_delivered INTEGER NOT NULL,
                  other_user_seen INTEGER NOT NULL,
                  PRIMARY KEY (user_id, chat_id)) WITHOUT ROWID;
                CREATE INDEX user_chats_newest ON user_chats(user_id, newest_message);
                CREATE TABLE consumer_offsets (
                  name TEXT PRIMARY KEY NOT NULL,
                  committed INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        return m
    }

    static var backplaneMigrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE log (
                  offset INTEGER PRIMARY KEY AUTOINCREMENT,
                  partition INTEGER NOT NULL,
                  payload BLOB NOT NULL);
                """)
        }
        return m
    }
}
